-- Target database of the compose stack (run once by the postgres image on
-- an empty data directory). The JDBC sink creates and evolves the tables
-- (schema.evolution=basic) as the sink login; cdc-sentinel gets read
-- access and its monitoring role (docs/security.md).
CREATE ROLE sink LOGIN PASSWORD 'sink';
CREATE ROLE cdc_sentinel LOGIN PASSWORD 'cdc_sentinel';
CREATE DATABASE target OWNER sink;
\connect target
ALTER DEFAULT PRIVILEGES FOR ROLE sink IN SCHEMA public GRANT SELECT ON TABLES TO cdc_sentinel;
GRANT USAGE ON SCHEMA public TO cdc_sentinel;
GRANT CONNECT ON DATABASE target TO cdc_sentinel;
GRANT pg_monitor TO cdc_sentinel;
