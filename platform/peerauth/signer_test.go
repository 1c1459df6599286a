package peerauth

import (
	"sync"
	"testing"
	"time"
)

// A token is reused for its audience until two thirds of its life are
// spent, then renewed; each audience has its own.
func TestTokenCaching(t *testing.T) {
	dir, _ := keySet(t, "orders", "accounts", "warehouse")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(start)
	s.SetClock(clk.now)
	g := signer(t, s, "orders")
	tok := func(audience string) string {
		t.Helper()
		token, err := g.Token(audience)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	first := tok("accounts")
	if other := tok("warehouse"); other == first {
		t.Fatal("one token for two audiences")
	}
	for _, c := range []struct {
		at   time.Duration // since start
		same bool
	}{
		{0, true},
		{time.Minute, true},
		{TTL*2/3 - time.Second, true},
		{TTL * 2 / 3, false},
	} {
		clk.set(start.Add(c.at))
		if got := tok("accounts"); (got == first) != c.same {
			t.Errorf("%s after the first token: the same token %v, want %v", c.at, got == first, c.same)
		}
	}
	renewed := tok("accounts")
	if c := verified(t, load(t, dir, clk.now()), renewed, "accounts"); !c.Expiry.Equal(start.Add(TTL*2/3 + TTL)) {
		t.Errorf("the renewed token expires at %v, want %v", c.Expiry, start.Add(TTL*2/3+TTL))
	}
	// The token sent last before renewal still has a third of its life.
	clk.set(start.Add(TTL*2/3 - time.Second))
	if left := start.Add(TTL).Sub(clk.now()); left < TTL/3 {
		t.Errorf("a token is sent with %s left", left)
	}
}

// Concurrent calls for several audiences, in rounds 70 s apart: within a
// round every call for an audience gets the same token, and it verifies;
// from round to round, tokens are renewed as their lives go. Run with -race.
func TestTokenConcurrently(t *testing.T) {
	dir, _ := keySet(t, "orders", "accounts", "warehouse", "im")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock(start)
	s.SetClock(clk.now)
	g := signer(t, s, "orders")
	audiences := []string{"accounts", "warehouse", "im"}
	distinct := map[string]bool{}
	for round := range 10 {
		at := start.Add(time.Duration(round) * 70 * time.Second)
		clk.set(at)
		var mu sync.Mutex
		got := map[string]map[string]bool{} // audience -> tokens
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				for j := range 20 {
					a := audiences[(i+j)%len(audiences)]
					token, err := g.Token(a)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if got[a] == nil {
						got[a] = map[string]bool{}
					}
					got[a][token] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		verifier := load(t, dir, at)
		for _, a := range audiences {
			if len(got[a]) != 1 {
				t.Fatalf("round %d: %d tokens for %s, want 1", round, len(got[a]), a)
			}
			for token := range got[a] {
				distinct[token] = true
				verified(t, verifier, token, a)
			}
		}
	}
	// Renewed at 0, 210, 420 and 630 s, for each of three audiences.
	if len(distinct) != 12 {
		t.Errorf("%d tokens signed for 6400 calls, want 12", len(distinct))
	}
}

// Mint signs no token that lives too long for a verifier, none without an
// audience, and no operator's role but the operator's; it signs an expired
// token for tests that need one.
func TestMintRefuses(t *testing.T) {
	_, s := keySet(t, "orders", "accounts")
	g := signer(t, s, "orders")
	for _, c := range []struct {
		why      string
		audience string
		ttl      time.Duration
		roles    []string
	}{
		{"no audience", "", time.Minute, nil},
		{"a lifetime over MaxLifetime", "accounts", MaxLifetime + time.Second, nil},
		{"the operator role", OpsAudience, time.Minute, []string{Operator}},
	} {
		if _, err := g.Mint(c.audience, c.ttl, c.roles...); err == nil {
			t.Errorf("Mint with %s signed", c.why)
		}
	}
	if _, err := g.Token(""); err == nil {
		t.Error("Token with no audience signed")
	}
	tok, err := g.Mint("accounts", time.Minute, "reader")
	if err != nil {
		t.Fatal(err)
	}
	if c := verified(t, s, tok, "accounts"); !c.HasRole("reader") || !c.Expiry.Equal(start.Add(time.Minute)) {
		t.Errorf("Verify = %+v", c)
	}
	expired, err := g.Mint("accounts", -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	refused(t, s, expired, "accounts", "a token minted expired")
	if g.Name() != "orders" {
		t.Errorf("Name = %q", g.Name())
	}
}
