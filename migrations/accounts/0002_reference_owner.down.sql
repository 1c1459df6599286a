-- Fails while two modules hold the same reference of an account and kind: the
-- narrower constraint cannot hold them both.
ALTER TABLE transactions DROP CONSTRAINT transactions_reference_once;
ALTER TABLE transactions ADD CONSTRAINT transactions_reference_once UNIQUE (account_id, kind, reference);
ALTER TABLE transactions DROP COLUMN reference_owner;
