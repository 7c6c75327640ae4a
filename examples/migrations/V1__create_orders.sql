-- DSQL takes one DDL statement per transaction; dsql migrate gives each its own.
CREATE TABLE IF NOT EXISTS example_orders (
  id bigint PRIMARY KEY,
  customer text NOT NULL,
  status text NOT NULL,
  total numeric(12, 2) NOT NULL
);

-- Rows the text counts are grouped, at most 3,000 per transaction.
INSERT INTO example_orders VALUES
  (1, 'alice', 'shipped', 12.50),
  (2, 'bob', 'pending', 99.00),
  (3, 'carol', 'pending', 5.25)
ON CONFLICT (id) DO NOTHING;
