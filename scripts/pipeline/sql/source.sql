-- Demo schema of the 'source' database (idempotent; run by pipeline.sh up as user cdc).
CREATE SCHEMA IF NOT EXISTS inventory;

CREATE TABLE IF NOT EXISTS inventory.customers (
  id         serial PRIMARY KEY,
  name       text,
  email      text,
  balance    numeric(12,2),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- compound primary key with a text part
CREATE TABLE IF NOT EXISTS inventory.orders (
  customer_id int  NOT NULL,
  order_no    text NOT NULL,
  amount      numeric(12,2),
  note        text,
  created_at  timestamp(6),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, order_no)
);

-- Debezium signal table (signal.data.collection=inventory.debezium_signal): also the watermark
-- channel of incremental snapshots, so it is part of the publication.
CREATE TABLE IF NOT EXISTS inventory.debezium_signal (
  id   varchar(42) PRIMARY KEY,
  type varchar(32) NOT NULL,
  data varchar(2048)
);

-- written by the connector's heartbeat.action.query: keeps the slot moving while the tables idle
CREATE TABLE IF NOT EXISTS inventory.debezium_heartbeat (
  id int PRIMARY KEY,
  ts timestamptz NOT NULL DEFAULT now()
);

-- updated_at follows every update (used as the source timestamp column for lag)
CREATE OR REPLACE FUNCTION inventory.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS customers_touch ON inventory.customers;
CREATE TRIGGER customers_touch BEFORE UPDATE ON inventory.customers
  FOR EACH ROW EXECUTE FUNCTION inventory.touch_updated_at();
DROP TRIGGER IF EXISTS orders_touch ON inventory.orders;
CREATE TRIGGER orders_touch BEFORE UPDATE ON inventory.orders
  FOR EACH ROW EXECUTE FUNCTION inventory.touch_updated_at();

-- cdc-sentinel reads max(updated_at) per scrape for lag: an index makes
-- that a lookup instead of a scan
CREATE INDEX IF NOT EXISTS customers_updated_at ON inventory.customers (updated_at);
CREATE INDEX IF NOT EXISTS orders_updated_at ON inventory.orders (updated_at);

-- the primary keys are the replica identity (REPLICA IDENTITY DEFAULT): enough for pgoutput
-- updates/deletes. FULL on the signal table is not needed either.
ALTER TABLE inventory.customers REPLICA IDENTITY DEFAULT;
ALTER TABLE inventory.orders REPLICA IDENTITY DEFAULT;

-- seed once (only while both tables are empty)
INSERT INTO inventory.customers (name, email, balance)
SELECT 'Customer ' || g, 'customer' || g || '@example.com', round((g * 37.5)::numeric % 1000, 2)
FROM generate_series(1, 30) g
WHERE NOT EXISTS (SELECT 1 FROM inventory.customers) AND NOT EXISTS (SELECT 1 FROM inventory.orders);

INSERT INTO inventory.orders (customer_id, order_no, amount, note, created_at)
SELECT c.id, 'ORD-' || lpad(c.id::text, 4, '0') || '-' || n, round((c.id * 10 + n * 2.25)::numeric, 2),
       CASE WHEN n = 1 THEN 'first order' ELSE NULL END,
       timestamp '2024-01-01 00:00:00.123456' + (c.id || ' days')::interval + (n || ' hours')::interval
FROM inventory.customers c CROSS JOIN generate_series(1, 2) n
WHERE c.id <= 20 AND NOT EXISTS (SELECT 1 FROM inventory.orders);

-- publication for pgoutput (the connector uses publication.autocreate.mode=disabled)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'demo_publication') THEN
    CREATE PUBLICATION demo_publication
      FOR TABLE inventory.customers, inventory.orders, inventory.debezium_signal;
  END IF;
END $$;
