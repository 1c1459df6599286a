package tokencache_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/tokencache"
)

func TestCacheForgetsAtExpiry(t *testing.T) {
	c := tokencache.New[string](0)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	k := tokencache.Key("tok", "aud")
	c.Put(k, "alice", now, now.Add(time.Minute))
	if v, ok := c.Get(k, now.Add(59*time.Second)); !ok || v != "alice" {
		t.Fatalf("before expiry: got %q, %v; want alice, true", v, ok)
	}
	if _, ok := c.Get(tokencache.Key("tok", "other"), now); ok {
		t.Fatal("the same token for another audience was a hit")
	}
	if _, ok := c.Get(k, now.Add(time.Minute)); ok {
		t.Fatal("at expiry: still a hit")
	}
	if c.Len() != 0 {
		t.Fatalf("an expired entry was kept: %d entries", c.Len())
	}
	c.Put(k, "late", now, now)
	if c.Len() != 0 {
		t.Fatal("a token already expired was cached")
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := tokencache.New[int](100)
	now := time.Now()
	for i := range 1000 {
		c.Put(tokencache.Key(fmt.Sprint(i)), i, now, now.Add(time.Hour))
		if c.Len() > 100 {
			t.Fatalf("after %d puts the cache holds %d, more than 100", i+1, c.Len())
		}
	}
	if v, ok := c.Get(tokencache.Key("999"), now); !ok || v != 999 {
		t.Fatalf("the newest entry: got %d, %v", v, ok)
	}
}

func TestKeyIsUnambiguous(t *testing.T) {
	if tokencache.Key("ab", "c") == tokencache.Key("a", "bc") {
		t.Fatal(`Key("ab","c") == Key("a","bc")`)
	}
}

func BenchmarkHit(b *testing.B) {
	c := tokencache.New[string](0)
	tok := "eyJhbGciOiJFUzI1NiIsImtpZCI6ImRldiJ9." + string(make([]byte, 400))
	now := time.Now()
	c.Put(tokencache.Key(tok), "alice", now, now.Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(tokencache.Key(tok), now); !ok {
			b.Fatal("miss")
		}
	}
}
