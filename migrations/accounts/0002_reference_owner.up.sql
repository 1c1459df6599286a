-- A reference belongs to the module that gave it: a debit or credit happens
-- once per (account, kind, calling module, reference), so that no other module
-- can take the reference an order's refund will use. Rows from before this
-- migration have no owner (''); a lookup counts them as anyone's.
ALTER TABLE transactions ADD COLUMN reference_owner text NOT NULL DEFAULT '';
ALTER TABLE transactions DROP CONSTRAINT transactions_reference_once;
ALTER TABLE transactions ADD CONSTRAINT transactions_reference_once UNIQUE (account_id, kind, reference_owner, reference);
