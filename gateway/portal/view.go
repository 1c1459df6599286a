package portal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/problem"
)

// The page cannot be drawn without its account, so accounts gets the longer
// wait; the manager only decorates it, so a slow im must not hold the page.
const (
	accountsTimeout = 5 * time.Second
	imTimeout       = 2 * time.Second
)

// AccountView is the portal's page for one account. Degraded names the
// contexts that could not answer, so the page can say what it is missing
// instead of failing whole; it is never null.
type AccountView struct {
	Account  accounts.Account `json:"account"`
	Manager  *Manager         `json:"manager"`
	Degraded []string         `json:"degraded"`
}

// Manager is what the portal shows of an account's investment manager; the
// referral code and commission rate are im's business, not the customer's.
type Manager struct {
	ID    uuid.UUID `json:"id"`
	Name  string    `json:"name"`
	Email string    `json:"email"`
}

// views composes the portal's views from the gateways of other contexts.
type views struct {
	accounts accounts.Accounts
	im       im.IM
	log      *slog.Logger
}

type managerResult struct {
	manager im.Manager
	found   bool
	err     error
}

// The people the account view is for: the customer who owns the account,
// and staff, for support work.
var viewers = []identity.Role{identity.Customer, identity.Staff}

// Account returns the view of account id. It asks accounts and im at once;
// accounts decides the outcome (an unknown or unreachable account fails the
// view), while any failure of im only drops the manager and marks im degraded.
//
// Both are asked on behalf of the person in ctx, which goes with the calls:
// accounts, whose data it is, answers someone else's account as unknown, so
// the portal keeps no rule of who owns what. im's answer is shown only with
// the account's.
func (v *views) Account(ctx context.Context, id uuid.UUID) (AccountView, error) {
	if err := identity.Require(ctx, viewers...); err != nil {
		return AccountView{}, err
	}
	// When accounts fails nobody reads im's answer: the cancel stops the
	// lookup, and the buffer lets it finish without a reader.
	imCtx, cancelIM := context.WithTimeout(ctx, imTimeout)
	defer cancelIM()
	managed := make(chan managerResult, 1)
	go func() { managed <- v.managerOf(imCtx, id) }()

	accCtx, cancelAcc := context.WithTimeout(ctx, accountsTimeout)
	acc, err := v.accounts.Get(accCtx, id)
	cancelAcc()
	if err != nil {
		return AccountView{}, v.accountsError(ctx, id, err)
	}

	view := AccountView{Account: acc, Degraded: []string{}}
	switch r := <-managed; {
	case r.err != nil:
		v.log.WarnContext(ctx, "im failed; serving the account view without its manager",
			"account_id", id, "error", r.err)
		view.Degraded = append(view.Degraded, im.Name)
	case r.found:
		view.Manager = &Manager{ID: r.manager.ID, Name: r.manager.Name, Email: r.manager.Email}
	}
	return view, nil
}

// managerOf asks im for the manager of an account. It runs on a goroutine of
// its own, out of reach of the HTTP server's recoverer, where a panic in an
// in-process im would bring down every module of the process; so a panic is
// one more way for im to fail.
func (v *views) managerOf(ctx context.Context, id uuid.UUID) (r managerResult) {
	defer func() {
		if p := recover(); p != nil {
			v.log.ErrorContext(ctx, "im panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			r = managerResult{err: fmt.Errorf("im panicked: %v", p)}
		}
	}()
	m, found, err := v.im.ManagerOf(ctx, id)
	return managerResult{manager: m, found: found, err: err}
}

// accountsError is the portal's answer when the account lookup fails. An
// unknown account is the portal's 404 too. An accounts that cannot answer in
// time is a 503 that names the dependency but not where it runs. Anything else
// An answer off the contract is a 502 that says so, without where. Anything else
// is the portal's 500, whatever accounts called it: the cause goes to the log
// (formatted with %v so that the web layer sees no problem in it to echo).
func (v *views) accountsError(ctx context.Context, id uuid.UUID, err error) error {
	switch {
	case errors.Is(err, accounts.ErrAccountNotFound):
		return err
	case errors.Is(err, problem.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		v.log.WarnContext(ctx, "accounts unavailable; cannot serve the account view", "account_id", id, "error", err)
		return problem.ErrUnavailable.WithDetail("accounts is unavailable; try again shortly")
	case errors.Is(err, contract.ErrBadGateway):
		v.log.WarnContext(ctx, "accounts answered off contract; cannot serve the account view", "account_id", id, "error", err)
		return contract.ErrBadGateway.WithDetail("accounts answered something that is not its contract")
	default:
		return fmt.Errorf("portal: get account %s: %v", id, err)
	}
}
