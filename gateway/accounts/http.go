package accounts

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/contract"
)

// Gateway is the contract as the runtime serves and reaches it: the table of
// its methods, written once for both sides of the wire. These routes are for
// other modules, beside the module's public API.
var Gateway = contract.New(Name, func(c contract.Caller) Accounts { return client{c} },
	get, getMany, debit, credit)

var (
	// A read: with accounts at several endpoints, a Get still unanswered
	// after 50ms (some 20 times its usual time) goes to a second one too.
	get = contract.Method("Get", Accounts.Get, "GET /gateway/accounts/v1/accounts/{id}").
		Idempotent().Hedged(50 * time.Millisecond).NotFound(ErrAccountNotFound)
	getMany = contract.Method("GetMany", func(a Accounts, ctx context.Context, req batchGet) (items, error) {
		got, err := a.GetMany(ctx, req.IDs)
		return items{Items: got}, err
	}, "POST /gateway/accounts/v1/accounts/batch-get").Idempotent()
	// A movement with a reference is applied once per reference, so it is
	// safe to send again; one without is not (the service refuses it anyway).
	debit  = contract.Method("Debit", Accounts.Debit, "POST /gateway/accounts/v1/debits").IdempotentIf(Movement.referenced)
	credit = contract.Method("Credit", Accounts.Credit, "POST /gateway/accounts/v1/credits").IdempotentIf(Movement.referenced)
)

func (m Movement) referenced() bool { return m.Reference != "" }

type batchGet struct {
	IDs []uuid.UUID `json:"ids"`
}

type items struct {
	Items []Account `json:"items"`
}

// client is the Accounts of a peer, reached through c.
type client struct{ c contract.Caller }

func (cl client) Get(ctx context.Context, id uuid.UUID) (Account, error) {
	return get.Call(ctx, cl.c, id)
}

func (cl client) GetMany(ctx context.Context, ids []uuid.UUID) ([]Account, error) {
	if err := CheckBatch(ids); err != nil {
		return nil, err
	}
	out, err := getMany.Call(ctx, cl.c, batchGet{IDs: ids})
	if err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []Account{}
	}
	return out.Items, nil
}

func (cl client) Debit(ctx context.Context, req Movement) (Transaction, error) {
	return debit.Call(ctx, cl.c, req)
}

func (cl client) Credit(ctx context.Context, req Movement) (Transaction, error) {
	return credit.Call(ctx, cl.c, req)
}
