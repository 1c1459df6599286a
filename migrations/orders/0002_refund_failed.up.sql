-- A cancellation whose refund accounts refuses for good (a reference conflict,
-- a balance at its limit, ...) ends in refund_failed: the stock is back in the
-- warehouse, the money is not back on the account, and an operator must settle
-- it. Retrying cannot change a refusal, so the saga is done.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('placed', 'paid', 'rejected', 'cancelled', 'shipped', 'refund_failed'));

ALTER TABLE orders
    -- Why the refund was refused: a stable code and the refusal's own words.
    ADD COLUMN refund_error        text
        CHECK (refund_error IN ('reference_conflict', 'balance_limit', 'currency_mismatch',
                                'unknown_account', 'refused')),
    ADD COLUMN refund_error_detail text,
    -- How many drives of the unfinished saga have failed, and when the
    -- recovery may drive it again: the spacing grows with the attempts, so an
    -- outage is not hammered every few seconds. Both are reset when the saga
    -- is done.
    ADD COLUMN attempts            integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at     timestamptz,
    ADD CONSTRAINT orders_refund_error_when_refund_failed
        CHECK ((refund_error IS NOT NULL) = (status = 'refund_failed')
           AND (refund_error IS NULL) = (refund_error_detail IS NULL)),
    ADD CONSTRAINT orders_refund_failed_done
        CHECK (status <> 'refund_failed' OR saga_step = 'done');

-- The orders an operator must settle, counted by the ops route.
CREATE INDEX orders_refund_failed ON orders (id) WHERE status = 'refund_failed';
