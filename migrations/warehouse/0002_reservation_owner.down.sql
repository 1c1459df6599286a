ALTER TABLE reservations DROP COLUMN owner;
