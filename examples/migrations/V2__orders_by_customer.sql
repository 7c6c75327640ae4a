-- Indexes are built by jobs: dsql migrate waits for the job and fails if it failed.
CREATE INDEX ASYNC IF NOT EXISTS example_orders_customer ON example_orders (customer);

ALTER TABLE example_orders ADD COLUMN IF NOT EXISTS note text;

UPDATE example_orders SET note = 'rush' WHERE status = 'pending' AND note IS NULL;
