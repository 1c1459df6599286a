package accounts

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/identity"
)

// Who may touch an account (DOMAIN.md, "Identity and access"). The service
// asks these of the person in the ctx, for its public API and its gateway
// alike: a rule kept here holds however the call arrives.
//
// A role a route does not admit is refused before anything is looked up
// (identity.ErrForbidden, 403), so that a stranger learns nothing. An account
// the person may not touch is answered as an account that does not exist
// (ErrAccountNotFound, 404), never 403, so that nobody learns which ids are
// taken. A ctx with no person is the system's own and touches any account.

// The roles each route of the public API admits.
var (
	// Only a customer opens an account, which is then theirs.
	opening = []identity.Role{identity.Customer}
	// The owner reads their account, its ledger and its emails; staff read
	// any, for support work.
	reading = []identity.Role{identity.Customer, identity.Staff}
	// Only the owner moves money in and out: staff never do.
	moving = []identity.Role{identity.Customer}
)

// mayRead reports whether ctx may see an account that owner owns: the
// system and staff see every account, a person the accounts they own.
func mayRead(ctx context.Context, owner string) bool {
	p, ok := identity.PersonFrom(ctx)
	return !ok || p.Has(identity.Staff) || owns(p, owner)
}

// mayMove reports whether ctx may move the money of an account that owner
// owns: the system may, a person only on an account of their own, whatever
// their roles, since staff never move money.
func mayMove(ctx context.Context, owner string) bool {
	p, ok := identity.PersonFrom(ctx)
	return !ok || owns(p, owner)
}

// owns reports whether p owns an account that owner owns. An account with no
// owner, opened before people had tokens, is nobody's: no subject is empty.
func owns(p identity.Person, owner string) bool {
	return owner != "" && owner == p.Subject
}

// ownerFor is the owner of an account opened in ctx: the person opening it;
// none for the system, which opens accounts for nobody.
func ownerFor(ctx context.Context) string {
	p, _ := identity.PersonFrom(ctx)
	return p.Subject
}

// mayTouch returns nil when account id exists and ctx may touch it as may
// says (mayRead or mayMove), and the account's not-found error otherwise,
// the same for an account of someone else as for no account at all.
func mayTouch(ctx context.Context, db *gorm.DB, id uuid.UUID, may func(context.Context, string) bool) error {
	owner, found, err := accountOwner(db, id)
	if err != nil {
		return err
	}
	if !found || !may(ctx, owner) {
		return notFound(id)
	}
	return nil
}
