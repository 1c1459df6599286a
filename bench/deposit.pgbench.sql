-- The deposit transaction of modules/accounts, as pgbench sees it: the
-- statements that accounts' move (service.go) and store.go send for
-- POST /v1/accounts/{id}/deposits without an Idempotency-Key, in the same
-- order, in one transaction:
--   applyMovement       UPDATE the balance and INSERT the ledger row, one
--                       statement (data-modifying CTEs) RETURNING the account
--   messaging.Publish   INSERT the accounts.funds_deposited.v1 event into the outbox
--   mail.Enqueue        INSERT the owner's confirmation email into notifications
-- The ids are made by the server (gen_random_uuid) where the service makes
-- UUIDv7s in Go; payload, metadata and email are of the service's size.
-- Run with PGOPTIONS='-c search_path=accounts' (the module's pool sets the
-- same search_path) on accounts seeded by bench/deposits.go, e.g.:
--   PGOPTIONS='-c search_path=accounts' pgbench -n -M prepared -T 10 -c 16 -j 2 \
--     -D accounts=1000 -f bench/deposit.pgbench.sql "$DATABASE_URL"
\set n random(1, :accounts)
BEGIN;
WITH moved AS (
	UPDATE accounts SET balance = balance + 100
	WHERE id = ('00000000-0000-4000-8000-' || lpad(:n::text, 12, '0'))::uuid AND balance <= 9223372036854775707
	RETURNING id, owner_name, email, currency, balance, status, referral_code, created_at
), ledger AS (
	INSERT INTO transactions (id, account_id, kind, amount, balance_after, reference)
	SELECT gen_random_uuid(), id, 'deposit', 100, balance, NULL FROM moved
	RETURNING created_at
)
SELECT moved.*, ledger.created_at AS ledger_created_at FROM moved, ledger \gset
INSERT INTO outbox (message_id, topic, payload, metadata)
	VALUES (gen_random_uuid(), 'accounts.funds_deposited.v1',
	'{"transaction_id":"0191d7b2-3c4e-7a1b-9c2d-1e2f3a4b5c6d","account_id":"0191d7b2-1a2b-7c3d-8e4f-5a6b7c8d9e0f","amount":100,"currency":"USD","balance_after":123456,"occurred_at":"2025-01-01T12:00:00.123456Z"}',
	'{"occurred_at":"2025-01-01T12:00:00.123456789Z","correlation_id":"5f0c2a9e8b7d6c5e4f3a2b1c0d9e8f7a","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}');
INSERT INTO notifications (id, owner_ref, recipient, subject, body, status)
	VALUES (gen_random_uuid(), :id, :email, 'Deposit received',
	'Hello Bench Owner,

We received your deposit of USD 1.00.
Your balance is now USD 1,234.56.

Transaction 0191d7b2-3c4e-7a1b-9c2d-1e2f3a4b5c6d, account 0191d7b2-1a2b-7c3d-8e4f-5a6b7c8d9e0f.
', 'pending');
END;
