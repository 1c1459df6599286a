-- Before 'recorded' existed, the development mailer marked what it logged
-- 'sent': its emails become that again, so that the narrower check holds.
UPDATE notifications SET status = 'sent' WHERE status = 'recorded';
ALTER TABLE notifications
    DROP CONSTRAINT notifications_status_check,
    ADD CONSTRAINT notifications_status_check
        CHECK (status IN ('pending', 'sent', 'failed'));
