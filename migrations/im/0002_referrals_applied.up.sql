-- The referral of an account is decided once: when its account_created event
-- arrives or, if one of its deposits gets here first (events of different
-- topics may overtake each other on a broker), then. Recording the decision
-- keeps a late account_created from relinking an account a manager has since
-- unlinked by hand.
CREATE TABLE referrals_applied (
    account_id uuid        PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Accounts linked before this table existed had their referral decided.
INSERT INTO referrals_applied (account_id) SELECT account_id FROM account_links;
