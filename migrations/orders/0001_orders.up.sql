-- The orders context's own tables. The platform's tables (outbox, inbox,
-- notifications, idempotency_keys, dead_letters) live beside them and are
-- migrated by the platform. Accounts and products belong to other contexts:
-- they are referenced by id and SKU only, never by a foreign key.

CREATE TABLE orders (
    id              uuid        PRIMARY KEY,
    account_id      uuid        NOT NULL,
    status          text        NOT NULL
                    CHECK (status IN ('placed', 'paid', 'rejected', 'cancelled', 'shipped')),
    -- Set when the saga decides to reject, which may be before the order is
    -- rejected: a compensation (giving the stock back) runs in between.
    reject_reason   text
                    CHECK (reject_reason IN ('unknown_account', 'unknown_sku', 'out_of_stock',
                                             'insufficient_funds', 'currency_mismatch')),
    -- The persisted position of the saga: the step to run next, so that a
    -- crash at any point resumes from here. 'done' once nothing is left to do.
    saga_step       text        NOT NULL
                    CHECK (saga_step IN ('reserving', 'debiting', 'compensating', 'cancelling', 'done')),
    -- 0 and '' until the stock is reserved and priced.
    total           bigint      NOT NULL DEFAULT 0 CHECK (total >= 0),
    currency        text        NOT NULL DEFAULT '',
    -- The client's Idempotency-Key and the hash of the canonical request it
    -- came with: a retry finds its order here and never starts a second saga.
    idempotency_key text,
    request_hash    text,
    -- Who drives the saga now and until when. A driver claims an order by
    -- setting both while the lease is free or expired, renews the lease
    -- between steps, and persists a step only while the token is still its
    -- own; both are NULL once the saga is done.
    lease_until     timestamptz,
    lease_token     uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    -- The saga is unfinished exactly while the order is placed, except for a
    -- cancellation, which runs on a paid order.
    CONSTRAINT orders_placed_while_saga_runs
        CHECK ((status = 'placed') = (saga_step IN ('reserving', 'debiting', 'compensating'))),
    CONSTRAINT orders_cancelling_paid_only
        CHECK (saga_step <> 'cancelling' OR status = 'paid'),
    -- A reason exactly when the order is rejected or being compensated.
    CONSTRAINT orders_reason_when_rejected
        CHECK ((reject_reason IS NOT NULL) = (status = 'rejected' OR saga_step = 'compensating')),
    CONSTRAINT orders_key_with_hash
        CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
);

-- One order per Idempotency-Key: concurrent duplicates are decided here.
CREATE UNIQUE INDEX orders_idempotency_key ON orders (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- An account's orders, newest first.
CREATE INDEX orders_by_account ON orders (account_id, created_at DESC, id DESC);
-- The unfinished sagas, for the recovery to find the ones whose lease expired.
CREATE INDEX orders_unfinished ON orders (saga_step, lease_until) WHERE saga_step <> 'done';

CREATE TABLE order_lines (
    order_id   uuid   NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    sku        text   NOT NULL,
    quantity   bigint NOT NULL CHECK (quantity > 0),
    -- NULL until the warehouse has reserved the stock and said its price.
    unit_price bigint CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, sku)
);
