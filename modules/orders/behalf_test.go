package orders_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/modules/orders"
	"github.com/uberservice/uberservice/modules/warehouse"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/problem"
)

// The saga calls accounts for the customer who placed the order, in one
// process and across two: with the person of the customer's request, and,
// when the recovery drives it, made for the order's customer; an order of no
// customer is driven on the system's authority. Someone else's account,
// which accounts answers as not found to a person, rejects the order for
// unknown_account when accounts refuses the debit.
//
// Accounts here is a ledger that keeps accounts' rule and remembers for whom
// each call was made, which the real accounts does not say.
func TestTheSagaCallsAccountsForTheCustomer(t *testing.T) {
	t.Parallel()
	for _, apart := range []bool{false, true} {
		name := "in one process"
		if apart {
			name = "across processes"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := &ledger{accounts: map[uuid.UUID]*ledgerAccount{}}
			w := startWithLedger(t, l, apart)
			sku := w.newProduct(t, 100, "USD", 100)
			ada, bob := w.newCustomer(t), w.newCustomer(t)
			forAda := identity.Person{Subject: ada.subject, Roles: []identity.Role{identity.Customer}}
			forBob := identity.Person{Subject: bob.subject, Roles: []identity.Role{identity.Customer}}
			place := func(who person, account uuid.UUID) ordersgw.Order {
				t.Helper()
				var o ordersgw.Order
				w.placeAs(t, who, account, []line{{sku, 2}}).Expect(t, http.StatusCreated).Decode(t, &o)
				return o
			}

			account := l.open(ada.subject)
			o := place(ada, account)
			if o.Status != ordersgw.StatusPaid {
				t.Fatalf("ada's order = %+v, want paid", o)
			}
			w.cancel(t, ada, o.ID).Expect(t, http.StatusOK)
			l.want(t, account, call{"Debit", forAda, nil}, call{"Credit", forAda, nil})

			// Bob names ada's account: accounts says it does not exist, and
			// the stock reserved for his order is given back.
			wantRejected(t, place(bob, account), ordersgw.RejectUnknownAccount)
			l.want(t, account, call{"Debit", forBob, accountsgw.ErrAccountNotFound})
			w.wantStock(t, sku, 100, 0)

			// The recovery pays two orders whose debit failed at first: ada's,
			// for ada, and one of no customer, for nobody.
			held, legacy := l.open(ada.subject), l.open(ada.subject)
			l.hold(held, legacy)
			first, old := place(ada, held), place(ada, legacy)
			if err := w.Schema(t, ordersgw.Name).Exec(`UPDATE orders SET customer = '' WHERE id = ?`, old.ID).Error; err != nil {
				t.Fatal(err)
			}
			l.release(held, legacy)
			for _, o := range []ordersgw.Order{first, old} {
				if o.Status != ordersgw.StatusPlaced {
					t.Fatalf("order %+v, want it placed while its debit fails", o)
				}
				w.awaitStatus(t, o.ID, ordersgw.StatusPaid, 15*time.Second)
			}
			l.wantLast(t, held, call{"Debit", forAda, nil})
			l.wantLast(t, legacy, call{"Debit", identity.Person{}, nil})
		})
	}
}

// startWithLedger starts the shop with l for accounts, in its process or in
// one of its own.
func startWithLedger(t *testing.T, l *ledger, apart bool) world {
	t.Helper()
	all := []app.Module{l.module(), warehouse.Module(), orders.Module()}
	if !apart {
		sys := apptest.Start(t, all, app.Config{})
		return world{System: sys, staff: sys.Person(t, "staff", identity.Staff)}
	}
	db := apptest.FreshDatabase(t)
	accounts := apptest.Start(t, all, app.Config{Modules: []string{accountsgw.Name}, DatabaseURL: db})
	sys := apptest.Start(t, all, app.Config{Modules: []string{"warehouse", ordersgw.Name}, DatabaseURL: db,
		Peers: map[string]string{accountsgw.Name: accounts.InternalURL(accountsgw.Name)}})
	return world{System: sys, staff: sys.Person(t, "staff", identity.Staff)}
}

// ledger is a stand-in for the accounts module, in memory, that keeps its
// rule for a call made on a person's behalf: someone else's account does not
// exist. It remembers every call, and for whom it was made.
type ledger struct {
	mu       sync.Mutex
	accounts map[uuid.UUID]*ledgerAccount
}

type ledgerAccount struct {
	owner   string
	balance int64
	held    bool // Debit and Credit fail, for now
	calls   []call
	moves   map[string]accountsgw.Transaction // by kind and reference
}

// call is a call of the ledger's: its method, the person it was made for
// (none: the zero Person) and the error it answered.
type call struct {
	method string
	person identity.Person
	err    error
}

// module is l as the accounts module.
func (l *ledger) module() app.Module {
	return app.Module{Name: accountsgw.Name, Port: 8081, Init: func(_ context.Context, env *app.Env) error {
		app.Provide(env, accountsgw.Gateway, accountsgw.Accounts(l))
		return nil
	}}
}

// open opens an account of owner's holding 10,000 USD.
func (l *ledger) open(owner string) uuid.UUID {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := uuid.New()
	l.accounts[id] = &ledgerAccount{owner: owner, balance: 10_000, moves: map[string]accountsgw.Transaction{}}
	return id
}

func (l *ledger) hold(ids ...uuid.UUID)    { l.setHeld(true, ids) }
func (l *ledger) release(ids ...uuid.UUID) { l.setHeld(false, ids) }

func (l *ledger) setHeld(held bool, ids []uuid.UUID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		l.accounts[id].held = held
	}
}

// find returns account id, as the person of ctx may see it, and records the
// call of method on it.
func (l *ledger) find(ctx context.Context, method string, id uuid.UUID) (*ledgerAccount, func(error) error) {
	p, ok := identity.PersonFrom(ctx)
	a := l.accounts[id]
	record := func(err error) error {
		if a != nil {
			a.calls = append(a.calls, call{method: method, person: p, err: err})
		}
		return err
	}
	if a == nil || (ok && p.Subject != a.owner) {
		return nil, record
	}
	return a, record
}

func (l *ledger) Get(ctx context.Context, id uuid.UUID) (accountsgw.Account, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, record := l.find(ctx, "Get", id)
	if a == nil {
		return accountsgw.Account{}, record(accountsgw.ErrAccountNotFound)
	}
	return accountsgw.Account{ID: id, Currency: "USD", Balance: a.balance, Status: "active"}, record(nil)
}

func (l *ledger) GetMany(context.Context, []uuid.UUID) ([]accountsgw.Account, error) {
	return nil, errors.New("ledger: orders reads no accounts in bulk")
}

func (l *ledger) Debit(ctx context.Context, m accountsgw.Movement) (accountsgw.Transaction, error) {
	return l.move(ctx, "Debit", accountsgw.KindDebit, m, -m.Amount)
}

func (l *ledger) Credit(ctx context.Context, m accountsgw.Movement) (accountsgw.Transaction, error) {
	return l.move(ctx, "Credit", accountsgw.KindCredit, m, m.Amount)
}

// move applies by to the balance of m's account, a movement of kind, once
// per kind and reference.
func (l *ledger) move(ctx context.Context, method, kind string, m accountsgw.Movement, by int64) (accountsgw.Transaction, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, record := l.find(ctx, method, m.AccountID)
	switch {
	case a == nil:
		return accountsgw.Transaction{}, record(accountsgw.ErrAccountNotFound)
	case a.held:
		return accountsgw.Transaction{}, record(problem.ErrConflict.WithDetail("the ledger holds account %s", m.AccountID))
	case a.balance+by < 0:
		return accountsgw.Transaction{}, record(accountsgw.ErrInsufficientFunds)
	}
	if tx, ok := a.moves[kind+" "+m.Reference]; ok {
		return tx, record(nil)
	}
	a.balance += by
	tx := accountsgw.Transaction{ID: uuid.New(), AccountID: m.AccountID, Kind: kind, Amount: m.Amount,
		BalanceAfter: a.balance, Reference: m.Reference, CreatedAt: time.Now().UTC()}
	a.moves[kind+" "+m.Reference] = tx
	return tx, record(nil)
}

// want fails t unless the calls made on account, since the last want, are
// want; it forgets them.
func (l *ledger) want(t *testing.T, account uuid.UUID, want ...call) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.accounts[account]
	got := a.calls
	a.calls = nil
	if len(got) != len(want) {
		t.Fatalf("calls on account %s: %+v, want %+v", account, got, want)
	}
	for i := range want {
		wantCall(t, got[i], want[i])
	}
}

// wantLast fails t unless the last call made on account is want.
func (l *ledger) wantLast(t *testing.T, account uuid.UUID, want call) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	calls := l.accounts[account].calls
	if len(calls) == 0 {
		t.Fatalf("no call on account %s, want %+v", account, want)
	}
	wantCall(t, calls[len(calls)-1], want)
}

func wantCall(t *testing.T, got, want call) {
	t.Helper()
	if got.method != want.method || !reflect.DeepEqual(got.person, want.person) || !errors.Is(got.err, want.err) {
		t.Errorf("call %s for %+v (%v), want %s for %+v (%v)", got.method, got.person, got.err, want.method, want.person, want.err)
	}
}
