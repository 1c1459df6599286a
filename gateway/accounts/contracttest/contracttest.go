// Package contracttest is the behaviour every implementation of the accounts
// gateway must show: the module's local implementation and the HTTP client
// talking to the module's server binding run the same suite and must pass it
// with the same expectations.
//
// Errors are compared with errors.Is against the gateway's sentinels (and
// problem.ErrInvalid for rejected requests), never by message or type, so the
// suite proves that an error decoded from a remote answer is the error a local
// caller gets.
package contracttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/problem"
)

// Subject is an implementation under test and a way to arrange its state.
type Subject struct {
	// Accounts is the implementation under test.
	Accounts accounts.Accounts
	// NewAccount opens an account in currency holding balance (minor units) by
	// other means than Accounts, the module's public API say, and returns its
	// id. It fails t when it cannot.
	NewAccount func(t *testing.T, currency string, balance int64) uuid.UUID
	// Owner is the subject of the customer who owns the accounts NewAccount
	// opens: the cases made on a person's behalf act as them, and as others.
	Owner string
}

// Run runs the suite. newSubject is called once per case, in that case's t;
// it may return a shared subject, since every case works on accounts of its
// own. Cases run in parallel.
func Run(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Helper()
	for _, c := range slices.Concat(cases, onBehalf) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newSubject(t))
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s Subject)
}

var cases = []testCase{
	{"Get/found", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "EUR", 1250)
		a, err := s.Accounts.Get(t.Context(), id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if a.ID != id || a.Currency != "EUR" || a.Balance != 1250 || a.Status != "active" {
			t.Errorf("Get = %+v, want id %s, EUR, balance 1250, active", a, id)
		}
		if a.OwnerName == "" || a.Email == "" || a.CreatedAt.IsZero() {
			t.Errorf("Get = %+v, want owner name, email and creation time", a)
		}
		if a.Owner != s.Owner {
			t.Errorf("Get = %+v, want owner %q", a, s.Owner)
		}
	}},
	{"Get/not found", func(t *testing.T, s Subject) {
		_, err := s.Accounts.Get(t.Context(), uuid.New())
		wantErr(t, "Get of an unknown id", err, accounts.ErrAccountNotFound)
	}},
	{"Get/honours a cancelled context", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 0)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Accounts.Get(ctx, id)
		wantErr(t, "Get with a cancelled context", err, context.Canceled)
	}},
	{"GetMany/keeps the order of ids and omits unknown ones", func(t *testing.T, s Subject) {
		a, b, c := s.NewAccount(t, "USD", 1), s.NewAccount(t, "USD", 2), s.NewAccount(t, "EUR", 3)
		got, err := s.Accounts.GetMany(t.Context(), []uuid.UUID{c, uuid.New(), a, b})
		if err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		if want := []uuid.UUID{c, a, b}; !slices.Equal(ids(got), want) {
			t.Fatalf("GetMany ids = %v, want %v", ids(got), want)
		}
		for i, balance := range []int64{3, 1, 2} {
			if got[i].Balance != balance {
				t.Errorf("GetMany[%d].Balance = %d, want %d", i, got[i].Balance, balance)
			}
		}
	}},
	{"GetMany/empty input", func(t *testing.T, s Subject) {
		for _, in := range [][]uuid.UUID{nil, {}} {
			got, err := s.Accounts.GetMany(t.Context(), in)
			if err != nil || len(got) != 0 {
				t.Errorf("GetMany(%v) = %v, %v; want nothing, no error", in, got, err)
			}
		}
	}},
	{"GetMany/only unknown ids", func(t *testing.T, s Subject) {
		got, err := s.Accounts.GetMany(t.Context(), []uuid.UUID{uuid.New(), uuid.New()})
		if err != nil || len(got) != 0 {
			t.Errorf("GetMany(unknown) = %v, %v; want nothing, no error", got, err)
		}
	}},
	{"GetMany/at most MaxBatch ids", func(t *testing.T, s Subject) {
		in := make([]uuid.UUID, accounts.MaxBatch+1)
		for i := range in {
			in[i] = uuid.New()
		}
		_, err := s.Accounts.GetMany(t.Context(), in)
		wantErr(t, "GetMany of MaxBatch+1 ids", err, problem.ErrInvalid)
		if _, err := s.Accounts.GetMany(t.Context(), in[:accounts.MaxBatch]); err != nil {
			t.Errorf("GetMany of MaxBatch ids: %v", err)
		}
	}},

	{"Debit/takes the money and says so", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 1000)
		ref := uuid.NewString()
		tx, err := s.Accounts.Debit(t.Context(), accounts.Movement{AccountID: id, Amount: 300, Currency: "USD", Reference: ref})
		if err != nil {
			t.Fatalf("Debit: %v", err)
		}
		wantTransaction(t, tx, id, accounts.KindDebit, 300, 700, ref)
		wantBalance(t, s, id, 700)
	}},
	{"Debit/the whole balance", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 500)
		tx, err := s.Accounts.Debit(t.Context(), accounts.Movement{AccountID: id, Amount: 500, Currency: "USD", Reference: "all"})
		if err != nil {
			t.Fatalf("Debit: %v", err)
		}
		wantTransaction(t, tx, id, accounts.KindDebit, 500, 0, "all")
		wantBalance(t, s, id, 0)
	}},
	{"Debit/insufficient funds changes nothing and leaves the reference free", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 100)
		m := accounts.Movement{AccountID: id, Amount: 101, Currency: "USD", Reference: "order-1"}
		_, err := s.Accounts.Debit(t.Context(), m)
		wantErr(t, "Debit beyond the balance", err, accounts.ErrInsufficientFunds)
		wantBalance(t, s, id, 100)
		m.Amount = 100
		if _, err := s.Accounts.Debit(t.Context(), m); err != nil {
			t.Fatalf("Debit with the reference of a refused debit: %v", err)
		}
		wantBalance(t, s, id, 0)
	}},
	{"Credit/gives the money and says so", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "GBP", 50)
		ref := uuid.NewString()
		tx, err := s.Accounts.Credit(t.Context(), accounts.Movement{AccountID: id, Amount: 25, Currency: "GBP", Reference: ref})
		if err != nil {
			t.Fatalf("Credit: %v", err)
		}
		wantTransaction(t, tx, id, accounts.KindCredit, 25, 75, ref)
		wantBalance(t, s, id, 75)
	}},
	{"Credit/an empty account", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 0)
		tx, err := s.Accounts.Credit(t.Context(), accounts.Movement{AccountID: id, Amount: 1, Currency: "USD", Reference: "r"})
		if err != nil {
			t.Fatalf("Credit: %v", err)
		}
		wantTransaction(t, tx, id, accounts.KindCredit, 1, 1, "r")
	}},
	{"Debit and Credit/a refund reuses the debit's reference", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 400)
		m := accounts.Movement{AccountID: id, Amount: 150, Currency: "USD", Reference: "order-42"}
		d, err := s.Accounts.Debit(t.Context(), m)
		if err != nil {
			t.Fatalf("Debit: %v", err)
		}
		c, err := s.Accounts.Credit(t.Context(), m)
		if err != nil {
			t.Fatalf("Credit with the debit's reference: %v", err)
		}
		if c.ID == d.ID || c.BalanceAfter != 400 {
			t.Errorf("Credit = %+v, want a new transaction leaving 400", c)
		}
		wantBalance(t, s, id, 400)
	}},

	{"Debit and Credit/currency mismatch", forBoth(func(t *testing.T, s Subject, move mover) {
		id := s.NewAccount(t, "EUR", 1000)
		_, err := move(t.Context(), accounts.Movement{AccountID: id, Amount: 10, Currency: "USD", Reference: "r"})
		wantErr(t, "a movement in another currency", err, accounts.ErrCurrencyMismatch)
		wantBalance(t, s, id, 1000)
	})},
	{"Debit and Credit/amount must be positive", forBoth(func(t *testing.T, s Subject, move mover) {
		id := s.NewAccount(t, "USD", 1000)
		for _, amount := range []int64{0, -1, -500} {
			_, err := move(t.Context(), accounts.Movement{AccountID: id, Amount: amount, Currency: "USD", Reference: "r"})
			wantErr(t, fmt.Sprintf("a movement of %d", amount), err, problem.ErrInvalid)
		}
		wantBalance(t, s, id, 1000)
	})},
	{"Debit and Credit/reference is required", forBoth(func(t *testing.T, s Subject, move mover) {
		id := s.NewAccount(t, "USD", 1000)
		_, err := move(t.Context(), accounts.Movement{AccountID: id, Amount: 10, Currency: "USD"})
		wantErr(t, "a movement without a reference", err, problem.ErrInvalid)
		wantBalance(t, s, id, 1000)
	})},
	{"Debit and Credit/unknown account", forBoth(func(t *testing.T, s Subject, move mover) {
		_, err := move(t.Context(), accounts.Movement{AccountID: uuid.New(), Amount: 10, Currency: "USD", Reference: "r"})
		wantErr(t, "a movement on an unknown account", err, accounts.ErrAccountNotFound)
	})},
	{"Debit and Credit/same reference, same amount: the first transaction again", forBoth(func(t *testing.T, s Subject, move mover) {
		id := s.NewAccount(t, "USD", 1000)
		m := accounts.Movement{AccountID: id, Amount: 200, Currency: "USD", Reference: uuid.NewString()}
		first, err := move(t.Context(), m)
		if err != nil {
			t.Fatalf("first: %v", err)
		}
		balance := first.BalanceAfter
		again, err := move(t.Context(), m)
		if err != nil {
			t.Fatalf("again: %v", err)
		}
		if again.ID != first.ID || again.BalanceAfter != first.BalanceAfter || !again.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("again = %+v, want the first transaction %+v", again, first)
		}
		wantBalance(t, s, id, balance)
	})},
	{"Debit and Credit/same reference, another amount: ErrReferenceConflict", forBoth(func(t *testing.T, s Subject, move mover) {
		id := s.NewAccount(t, "USD", 1000)
		m := accounts.Movement{AccountID: id, Amount: 200, Currency: "USD", Reference: uuid.NewString()}
		first, err := move(t.Context(), m)
		if err != nil {
			t.Fatalf("first: %v", err)
		}
		m.Amount = 201
		_, err = move(t.Context(), m)
		wantErr(t, "the reference again with another amount", err, accounts.ErrReferenceConflict)
		wantBalance(t, s, id, first.BalanceAfter)
	})},
	{"Debit and Credit/racing callers with one reference get one effect", forBoth(func(t *testing.T, s Subject, move mover) {
		id := s.NewAccount(t, "USD", 1000)
		m := accounts.Movement{AccountID: id, Amount: 100, Currency: "USD", Reference: uuid.NewString()}
		const callers = 8
		got := make([]accounts.Transaction, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { got[i], errs[i] = move(t.Context(), m) })
		}
		wg.Wait()
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if got[i].ID != got[0].ID {
				t.Fatalf("caller %d got transaction %s, caller 0 got %s", i, got[i].ID, got[0].ID)
			}
		}
		wantBalance(t, s, id, got[0].BalanceAfter)
		if got[0].BalanceAfter != 900 && got[0].BalanceAfter != 1100 {
			t.Errorf("balance after = %d, want one movement of 100 from 1000", got[0].BalanceAfter)
		}
	})},
}

// mover is Debit or Credit.
type mover func(context.Context, accounts.Movement) (accounts.Transaction, error)

// forBoth makes a case that holds for Debit and for Credit alike.
func forBoth(run func(t *testing.T, s Subject, move mover)) func(*testing.T, Subject) {
	return func(t *testing.T, s Subject) {
		t.Run("Debit", func(t *testing.T) { run(t, s, s.Accounts.Debit) })
		t.Run("Credit", func(t *testing.T) { run(t, s, s.Accounts.Credit) })
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func wantBalance(t *testing.T, s Subject, id uuid.UUID, want int64) {
	t.Helper()
	a, err := s.Accounts.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	if a.Balance != want {
		t.Fatalf("balance of %s = %d, want %d", id, a.Balance, want)
	}
}

func wantTransaction(t *testing.T, tx accounts.Transaction, account uuid.UUID, kind string, amount, balanceAfter int64, ref string) {
	t.Helper()
	if tx.ID == uuid.Nil || tx.AccountID != account || tx.Kind != kind || tx.Amount != amount ||
		tx.BalanceAfter != balanceAfter || tx.Reference != ref || tx.CreatedAt.IsZero() {
		t.Fatalf("transaction = %+v, want a %s of %d on %s leaving %d, reference %q", tx, kind, amount, account, balanceAfter, ref)
	}
}

func ids(as []accounts.Account) []uuid.UUID {
	out := make([]uuid.UUID, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}
