DROP INDEX IF EXISTS managers_subject;
ALTER TABLE managers DROP COLUMN IF EXISTS subject;
