DROP INDEX orders_unfinished_by_id;
