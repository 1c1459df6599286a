-- A reservation belongs to the module that made it (the calling module of
-- Reserve): only that module may release it. Reservations from before this
-- migration have no owner (''), and count as anyone's.
ALTER TABLE reservations ADD COLUMN owner text NOT NULL DEFAULT '';
