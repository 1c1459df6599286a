// Package im is the contract of the investment-management context: who manages
// an account, and a manager by id. The im module implements it; the portal
// gateway calls it.
package im

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/problem"
)

// Name is the context's name: its module, schema and gateway.
const Name = "im"

// IM is what other modules may ask of the im context. It has no rule per
// person: a call made on a person's behalf gets the same answer as one made
// on the caller's own authority. The portal asks for the manager of an
// account for a customer whom accounts has already let see that account,
// and shows of the manager only what a customer may know.
type IM interface {
	// ManagerOf returns the manager of an account; found is false when the
	// account has none (or is unknown to im).
	ManagerOf(ctx context.Context, accountID uuid.UUID) (m Manager, found bool, err error)
	// Manager returns a manager by id, or ErrManagerNotFound.
	Manager(ctx context.Context, id uuid.UUID) (Manager, error)
}

// Manager is an investment manager as other contexts see it.
type Manager struct {
	ID uuid.UUID `json:"id"`
	// Subject is the person the manager is: the sub of their tokens. It is
	// "" for a manager recorded before managers had one, whom staff alone
	// see.
	Subject       string    `json:"subject"`
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	ReferralCode  string    `json:"referral_code"`
	CommissionBps int       `json:"commission_bps"`
	CreatedAt     time.Time `json:"created_at"`
}

// Errors of the im context.
var (
	ErrManagerNotFound = problem.New(http.StatusNotFound, "manager_not_found", "The manager does not exist")
)
