-- Tables the platform keeps in every module's schema. The module's own
-- migrations never touch them; they are migrated with their own table.

-- Events written in the same transaction as the state change that caused them;
-- the relay forwards them to the bus and deletes them.
CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    message_id  uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    payload     bytea       NOT NULL,
    metadata    jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Messages a handler has already applied: recorded in the handler's own
-- transaction, so a redelivery has no second effect.
CREATE TABLE inbox (
    message_id  text        NOT NULL,
    handler     text        NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, handler)
);

-- Messages whose handler failed: retried with backoff while 'retrying', kept
-- for an operator to inspect and replay once 'dead'.
CREATE TABLE dead_letters (
    id              bigserial   PRIMARY KEY,
    message_id      text        NOT NULL,
    handler         text        NOT NULL,
    topic           text        NOT NULL,
    payload         bytea       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    status          text        NOT NULL CHECK (status IN ('retrying', 'dead')),
    attempts        integer     NOT NULL,
    last_error      text        NOT NULL,
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, handler)
);
CREATE INDEX dead_letters_due ON dead_letters (next_attempt_at) WHERE status = 'retrying';

-- Emails, written in the business transaction and sent by the dispatcher, so
-- an email is never lost between the two.
CREATE TABLE notifications (
    id              uuid        PRIMARY KEY,
    owner_ref       text        NOT NULL,
    recipient       text        NOT NULL,
    subject         text        NOT NULL,
    body            text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_owner ON notifications (owner_ref, created_at DESC);

-- Results of requests that carried an Idempotency-Key, stored in the same
-- transaction as their effect: response is the JSON of the result.
--
-- status_code is no longer written or read: the result is a value, and the
-- handler that answers it chooses the status. It stays so that a binary from
-- before that change, still serving during a rolling deployment, finds the
-- column it writes and reads, and its own keyed requests keep working (only
-- its replay of a result a newer binary stored, with status_code 0, fails).
-- A later migration can drop it once no such binary runs.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status_code  integer     NOT NULL DEFAULT 0,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
