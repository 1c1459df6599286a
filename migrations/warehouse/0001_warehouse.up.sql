-- The warehouse context's own tables. The platform's tables (outbox, inbox,
-- notifications, idempotency_keys, dead_letters) live beside them and are
-- migrated by the platform. Orders belong to another context: an order is
-- referenced by its id only.

CREATE TABLE products (
    sku        text        PRIMARY KEY,
    name       text        NOT NULL,
    price      bigint      NOT NULL CHECK (price >= 0),
    currency   char(3)     NOT NULL,
    on_hand    bigint      NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved   bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- "Stock is never oversold" is the database's to keep, whatever the code
    -- above it does: available (on_hand - reserved) never goes below zero.
    CONSTRAINT products_reserved_within_on_hand CHECK (reserved >= 0 AND reserved <= on_hand)
);

-- One reservation per order: the key is what makes Reserve idempotent.
CREATE TABLE reservations (
    order_id   uuid        PRIMARY KEY,
    status     text        NOT NULL CHECK (status IN ('reserved', 'released', 'dispatched')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The lines of a reservation, with the price they were reserved at, so that
-- the order is charged what it was quoted whatever the catalogue says later.
CREATE TABLE reservation_lines (
    order_id   uuid    NOT NULL REFERENCES reservations (order_id),
    sku        text    NOT NULL REFERENCES products (sku),
    quantity   bigint  NOT NULL CHECK (quantity > 0),
    unit_price bigint  NOT NULL CHECK (unit_price >= 0),
    currency   char(3) NOT NULL,
    PRIMARY KEY (order_id, sku)
);

-- One shipment per order, whatever the redeliveries of order_paid: the unique
-- order_id is what the handler's ON CONFLICT DO NOTHING relies on. Its lines
-- are the reservation's.
CREATE TABLE shipments (
    id         uuid        PRIMARY KEY,
    order_id   uuid        NOT NULL UNIQUE REFERENCES reservations (order_id),
    status     text        NOT NULL CHECK (status IN ('picking', 'dispatched', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
