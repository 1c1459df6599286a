-- An email the development mailer (--mail-url log) only logged is 'recorded',
-- so that nobody reads it as 'sent'. Widening the check keeps every existing
-- row valid, and a binary from before this migration, which writes only
-- 'pending', 'sent' and 'failed', keeps working on it during a rolling update.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_status_check,
    ADD CONSTRAINT notifications_status_check
        CHECK (status IN ('pending', 'sent', 'recorded', 'failed'));
