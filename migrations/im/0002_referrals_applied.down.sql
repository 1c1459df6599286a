DROP TABLE IF EXISTS referrals_applied;
