-- Investment managers, the accounts they manage and the commissions they earn.
-- Accounts belong to another context: an account is referenced by its id only,
-- never by a foreign key into another schema.

CREATE TABLE managers (
    id             uuid        PRIMARY KEY,
    name           text        NOT NULL,
    email          text        NOT NULL,
    -- The code a customer gives when opening an account; it is how an account
    -- finds its manager, so two managers can never share one.
    referral_code  text        NOT NULL UNIQUE,
    commission_bps integer     NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- The account is the key: an account has at most one manager.
CREATE TABLE account_links (
    account_id  uuid        PRIMARY KEY,
    manager_id  uuid        NOT NULL REFERENCES managers (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_links_manager ON account_links (manager_id, created_at);

-- One commission per deposit: the unique transaction_id keeps a deposit from
-- paying twice even if the same deposit arrives under two message ids, which
-- the inbox alone cannot see. The deposit and the rate it was paid at are kept
-- so that every amount can be explained later.
CREATE TABLE commissions (
    id             uuid        PRIMARY KEY,
    manager_id     uuid        NOT NULL REFERENCES managers (id),
    account_id     uuid        NOT NULL,
    transaction_id uuid        NOT NULL UNIQUE,
    amount         bigint      NOT NULL CHECK (amount >= 0),
    currency       text        NOT NULL,
    deposit_amount bigint      NOT NULL CHECK (deposit_amount > 0),
    commission_bps integer     NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commissions_manager ON commissions (manager_id, created_at DESC, id DESC);
