-- The accounts context's own tables. The platform's tables (outbox, inbox,
-- notifications, idempotency_keys, dead_letters) live beside them and are
-- migrated by the platform.

CREATE TABLE accounts (
    id            uuid        PRIMARY KEY,
    owner_name    text        NOT NULL,
    email         text        NOT NULL,
    currency      char(3)     NOT NULL,
    -- The invariant "a balance never goes below zero" is the database's to
    -- keep, whatever the code above it does.
    balance       bigint      NOT NULL DEFAULT 0 CHECK (balance >= 0),
    status        text        NOT NULL DEFAULT 'active',
    -- Opaque to accounts: stored and published on creation, nothing more.
    referral_code text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- The ledger: one row per movement, written in the transaction that moves the
-- balance, so the sum of an account's rows is its balance.
CREATE TABLE transactions (
    id            uuid        PRIMARY KEY,
    account_id    uuid        NOT NULL REFERENCES accounts (id),
    -- The ledger position. Movements of one account are serialized by the lock
    -- on its row, and seq is taken under that lock, so it orders an account's
    -- movements exactly as they happened, which timestamps cannot promise.
    seq           bigint      GENERATED ALWAYS AS IDENTITY,
    kind          text        NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'debit', 'credit')),
    amount        bigint      NOT NULL CHECK (amount > 0),
    balance_after bigint      NOT NULL CHECK (balance_after >= 0),
    -- The caller's reference of a debit or credit (an order id); NULL for
    -- deposits and withdrawals, which NULLs keep out of the unique constraint.
    reference     text,
    -- clock_timestamp, not now(): the moment the movement took effect under the
    -- row lock, not the moment its transaction began.
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- A debit or credit happens once per reference: what makes them idempotent.
    CONSTRAINT transactions_reference_once UNIQUE (account_id, kind, reference)
);

-- An account's ledger, newest first.
CREATE INDEX transactions_ledger ON transactions (account_id, seq DESC);
