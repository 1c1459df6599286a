package im

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

// Errors of im's public API, beside the gateway's im.ErrManagerNotFound.
var (
	ErrReferralCodeTaken = problem.New(http.StatusConflict, "referral_code_taken", "The referral code belongs to another manager")
	ErrAlreadyManaged    = problem.New(http.StatusConflict, "account_already_managed", "Another manager already manages the account")
	ErrUnknownAccount    = problem.New(http.StatusUnprocessableEntity, "unknown_account", "The account does not exist")
	ErrLinkNotFound      = problem.New(http.StatusNotFound, "link_not_found", "The manager does not manage the account")
)

// Limits of a manager's fields.
const (
	maxNameLength         = 200
	maxReferralCodeLength = 64
	maxCommissionBps      = bpsPerWhole
)

// bpsPerWhole is the number of basis points in 100%.
const bpsPerWhole = 10000

// NewManager asks for a manager. Subject is the person the manager is, the
// sub of their tokens, so that they can read their own record. CommissionBps
// is a pointer because a missing commission is an error while a commission
// of 0 is a valid choice.
type NewManager struct {
	Subject       string `json:"subject"`
	Name          string `json:"name"`
	Email         string `json:"email"`
	ReferralCode  string `json:"referral_code"`
	CommissionBps *int   `json:"commission_bps"`
}

// Link says that a manager manages an account.
type Link struct {
	ManagerID uuid.UUID `json:"manager_id"`
	AccountID uuid.UUID `json:"account_id"`
	CreatedAt time.Time `json:"created_at"`
}

// service is the im context: managers, the accounts they manage, and what they
// earn. It implements the im gateway for other modules, and reacts to the
// accounts context's events; it asks the accounts gateway only when it needs an
// answer now (does this account exist, what is its balance).
type service struct {
	db       *database.DB
	accounts accounts.Accounts
	log      *slog.Logger
}

var _ im.IM = (*service)(nil)

// CreateManager validates and records a new manager: staff's work alone. A
// person holds one manager record at most.
func (s *service) CreateManager(ctx context.Context, req NewManager) (im.Manager, error) {
	if err := identity.Require(ctx, identity.Staff); err != nil {
		return im.Manager{}, err
	}
	if err := req.normalize(); err != nil {
		return im.Manager{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return im.Manager{}, fmt.Errorf("im: manager id: %w", err)
	}
	m := im.Manager{ID: id, Subject: req.Subject, Name: req.Name, Email: req.Email,
		ReferralCode: req.ReferralCode, CommissionBps: *req.CommissionBps}
	m, err = insertManager(ctx, s.db.DB, m)
	switch violatedIndex(err) {
	case managersSubject:
		return im.Manager{}, ErrSubjectTaken.WithDetail("subject %q has a manager record already", req.Subject)
	case managersReferralCode:
		return im.Manager{}, ErrReferralCodeTaken.WithDetail("referral code %q is taken", req.ReferralCode)
	}
	if err != nil {
		return im.Manager{}, fmt.Errorf("im: create manager: %w", err)
	}
	s.log.InfoContext(ctx, "manager created", "manager_id", m.ID)
	return m, nil
}

// normalize trims the name and checks every field, reporting all the invalid
// ones at once. Text goes through the platform's one rule (validate.Text), so
// a name im stores and the portal shows holds no control, bidi or invisible
// characters, as in every other module.
func (r *NewManager) normalize() error {
	r.Name = strings.TrimSpace(r.Name)
	var v problem.Violations
	// A subject is matched exactly against the sub of tokens, so it is not
	// trimmed: it is what the identity provider says, or it is refused.
	if validate.RequiredText(&v, "subject", r.Subject, identity.MaxSubjectLen) {
		if err := identity.CheckSubject(r.Subject); err != nil {
			v.Add("subject", err.Error())
		}
	}
	validate.RequiredText(&v, "name", r.Name, maxNameLength)
	if validate.RequiredText(&v, "email", r.Email, mail.MaxAddressLength) && !mail.ValidAddress(r.Email) {
		v.Add("email", "must be a plain email address such as name@example.com")
	}
	// A referral code is typed by a customer and matched exactly, so beyond
	// the rule for any text it may not start or end with blanks, nor hold a
	// space that looks like the plain one but is not.
	if validate.RequiredText(&v, "referral_code", r.ReferralCode, maxReferralCodeLength) {
		switch code := r.ReferralCode; {
		case strings.TrimSpace(code) != code:
			v.Add("referral_code", "must not start or end with spaces")
		case strings.ContainsFunc(code, func(r rune) bool { return r != ' ' && unicode.IsSpace(r) }):
			v.Add("referral_code", "must not contain spaces other than the plain space (U+0020)")
		}
	}
	switch bps := r.CommissionBps; {
	case bps == nil:
		v.Add("commission_bps", "is required")
	case *bps < 0 || *bps > maxCommissionBps:
		v.Add("commission_bps", fmt.Sprintf("must be between 0 and %d", maxCommissionBps))
	}
	return v.Err()
}

// Manager implements im.IM: any manager, whoever the call is for. The
// public API reads through GetManager.
func (s *service) Manager(ctx context.Context, id uuid.UUID) (im.Manager, error) {
	m, found, err := managerByID(ctx, s.db.DB, id)
	if err != nil {
		return im.Manager{}, fmt.Errorf("im: manager %s: %w", id, err)
	}
	if !found {
		return im.Manager{}, managerNotFound(id)
	}
	return m, nil
}

// GetManager returns a manager record to the person of ctx: their own, or
// any for staff.
func (s *service) GetManager(ctx context.Context, id uuid.UUID) (im.Manager, error) {
	return s.managerFor(ctx, id)
}

// ManagerOf implements im.IM.
func (s *service) ManagerOf(ctx context.Context, accountID uuid.UUID) (im.Manager, bool, error) {
	m, found, err := managerOfAccount(ctx, s.db.DB, accountID)
	if err != nil {
		return im.Manager{}, false, fmt.Errorf("im: manager of account %s: %w", accountID, err)
	}
	return m, found, nil
}

// Link makes managerID the manager of accountID. It is idempotent: linking an
// account to its own manager again returns the existing link with created
// false. The account must exist in the accounts context, which is asked only
// when im has no link for it yet.
//
// Staff alone link by hand, and never to a manager record of their own: a
// person who could pick the accounts they manage could earn commission on
// any. im asks accounts whether the account exists on its own authority,
// since the account is not the caller's.
func (s *service) Link(ctx context.Context, managerID, accountID uuid.UUID) (link Link, created bool, err error) {
	if err := identity.Require(ctx, identity.Staff); err != nil {
		return Link{}, false, err
	}
	m, err := s.Manager(ctx, managerID)
	if err != nil {
		return Link{}, false, err
	}
	if p, ok := identity.PersonFrom(ctx); ok && isSelf(p, m) {
		return Link{}, false, errSelfLink
	}
	existing, found, err := linkOf(ctx, s.db.DB, accountID)
	if err != nil {
		return Link{}, false, fmt.Errorf("im: link of account %s: %w", accountID, err)
	}
	if !found {
		if _, err := s.accounts.Get(identity.WithoutPerson(ctx), accountID); err != nil {
			if errors.Is(err, accounts.ErrAccountNotFound) {
				return Link{}, false, ErrUnknownAccount.WithDetail("no account %s", accountID)
			}
			return Link{}, false, accountsFailed(err)
		}
		err = s.db.Transact(ctx, func(tx *gorm.DB) error {
			existing, created, err = insertLink(ctx, tx, managerID, accountID)
			return err
		})
		if err != nil {
			return Link{}, false, fmt.Errorf("im: link account %s: %w", accountID, err)
		}
	}
	if existing.ManagerID != managerID {
		return Link{}, false, ErrAlreadyManaged.WithDetail("account %s has another manager", accountID)
	}
	if created {
		s.log.InfoContext(ctx, "account linked", "manager_id", managerID, "account_id", accountID)
	}
	return existing, created, nil
}

// Unlink ends managerID's management of accountID: the manager's own
// choice, or staff's.
func (s *service) Unlink(ctx context.Context, managerID, accountID uuid.UUID) error {
	if _, err := s.managerFor(ctx, managerID); err != nil {
		return err
	}
	deleted, err := deleteLink(ctx, s.db.DB, managerID, accountID)
	if err != nil {
		return fmt.Errorf("im: unlink account %s: %w", accountID, err)
	}
	if !deleted {
		return ErrLinkNotFound.WithDetail("manager %s does not manage account %s", managerID, accountID)
	}
	s.log.InfoContext(ctx, "account unlinked", "manager_id", managerID, "account_id", accountID)
	return nil
}

// accountsFailed is im's answer when the accounts gateway cannot answer: a 503
// naming the dependency. The cause stays in the error chain, for the log, but
// not in the problem a client receives.
func accountsFailed(err error) error {
	return fmt.Errorf("%w: %w", problem.ErrUnavailable.WithDetail("the accounts service is unavailable"), err)
}
