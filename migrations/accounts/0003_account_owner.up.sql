-- An account belongs to the person who opened it: owner is the subject (the
-- sub of their token) of the customer who opened it, and only they move its
-- money and, with staff, read it. Accounts opened before people had tokens
-- have no owner (''): no customer's subject is empty, so staff alone see them.
-- No index: nothing lists accounts by owner; an account is found by its id
-- and its owner compared after.
ALTER TABLE accounts ADD COLUMN owner text NOT NULL DEFAULT '';
