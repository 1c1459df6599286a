-- Every order belongs to the customer who placed it: the subject of their
-- token. Orders placed before people had tokens keep '' and are visible to
-- staff alone.
ALTER TABLE orders ADD COLUMN customer text NOT NULL DEFAULT '';

-- A customer's orders on an account, newest first: the list a customer reads.
-- Staff read an account's orders through orders_by_account.
CREATE INDEX orders_by_customer ON orders (customer, account_id, created_at DESC, id DESC);

-- An Idempotency-Key is its customer's: another customer's order with the
-- same key is none of theirs, neither to replay nor to refuse.
DROP INDEX orders_idempotency_key;
CREATE UNIQUE INDEX orders_idempotency_key ON orders (customer, idempotency_key) WHERE idempotency_key IS NOT NULL;
