package im

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/problem"
)

// Who may touch im's records (DOMAIN.md, "Identity and access"). A manager
// record is its subject's: that person reads it, its summary, commissions
// and emails, and unlinks accounts from it. Staff may do the same with any
// manager, for support, and they alone create managers and link accounts. A
// context made for no person is im's own (an event handler): it passes.
//
// The gateway (Manager, ManagerOf) has no rule of its own; see im.IM.

// readers are the roles that may read a manager record and unlink accounts
// from it: which record, managerFor decides.
var readers = []identity.Role{identity.Manager, identity.Staff}

// ErrSubjectTaken is the answer to a second manager record for one person.
var ErrSubjectTaken = problem.New(http.StatusConflict, "subject_has_manager", "The person already has a manager record")

// errSelfLink refuses a manager linking an account to their own record,
// which would let anyone earn commission on any account; it is a 403 like
// any refusal of a role, with a detail that says why.
var errSelfLink = identity.ErrForbidden.WithDetail("a manager cannot link an account to themselves: " +
	"staff link accounts, or the account's referral code does when it is opened")

// managerFor returns the manager id names, when the person of ctx may read
// it: its own subject, or staff. A person of another role is refused
// before anything is looked up, so that a stranger learns nothing; another
// manager's record is ErrManagerNotFound, exactly as one that does not
// exist. A context with no person reads any.
func (s *service) managerFor(ctx context.Context, id uuid.UUID) (im.Manager, error) {
	if err := identity.Require(ctx, readers...); err != nil {
		return im.Manager{}, err
	}
	m, err := s.Manager(ctx, id)
	if err != nil {
		return im.Manager{}, err
	}
	if p, ok := identity.PersonFrom(ctx); ok && !p.Has(identity.Staff) && !isSelf(p, m) {
		return im.Manager{}, managerNotFound(id)
	}
	return m, nil
}

// isSelf reports whether p is the person of manager m. A manager recorded
// before managers had a subject is nobody's.
func isSelf(p identity.Person, m im.Manager) bool {
	return m.Subject != "" && m.Subject == p.Subject
}

func managerNotFound(id uuid.UUID) error {
	return im.ErrManagerNotFound.WithDetail("no manager %s", id)
}
