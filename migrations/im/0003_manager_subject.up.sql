-- A manager record is a person's: subject is the sub of that person's tokens,
-- so that a manager reads their own record and nobody else's. Managers
-- recorded before this column existed keep '': no person's, so staff alone
-- see them.
ALTER TABLE managers ADD COLUMN subject text NOT NULL DEFAULT '';

-- A person holds at most one manager record; the legacy '' rows are many.
CREATE UNIQUE INDEX managers_subject ON managers (subject) WHERE subject <> '';
