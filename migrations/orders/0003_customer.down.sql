-- Fails while two customers' orders share an Idempotency-Key: the old schema
-- has one order per key, and choosing which order keeps it would replay one
-- customer's order to the other.
DROP INDEX orders_idempotency_key;
CREATE UNIQUE INDEX orders_idempotency_key ON orders (idempotency_key) WHERE idempotency_key IS NOT NULL;
DROP INDEX IF EXISTS orders_by_customer;
ALTER TABLE orders DROP COLUMN IF EXISTS customer;
