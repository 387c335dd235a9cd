-- Demo database for the compose stack: two captured tables, a Debezium
-- signal table, and two logins with only what they need (docs/security.md).
-- Idempotent: the init container may run more than once.
IF DB_ID('inventory') IS NULL CREATE DATABASE inventory;
GO
USE inventory;
GO
IF OBJECT_ID('dbo.customers') IS NULL
  CREATE TABLE dbo.customers (
    id INT IDENTITY PRIMARY KEY,
    name NVARCHAR(200) NOT NULL,
    email NVARCHAR(200) NULL,
    balance DECIMAL(12,2) NULL,
    updated_at DATETIME2(3) NOT NULL DEFAULT SYSUTCDATETIME());
IF OBJECT_ID('dbo.orders') IS NULL
  CREATE TABLE dbo.orders (
    customer_id INT NOT NULL,
    order_no NVARCHAR(32) NOT NULL,
    amount DECIMAL(12,2) NULL,
    updated_at DATETIME2(3) NOT NULL DEFAULT SYSUTCDATETIME(),
    PRIMARY KEY (customer_id, order_no));
-- Debezium's signal table: must itself be CDC-enabled on SQL Server.
IF OBJECT_ID('dbo.debezium_signal') IS NULL
  CREATE TABLE dbo.debezium_signal (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL);
GO
IF NOT EXISTS (SELECT 1 FROM dbo.customers)
  INSERT INTO dbo.customers (name, email, balance) VALUES
    (N'Ada', N'ada@example.com', 10.00), (N'Grace', N'grace@example.com', 20.00), (N'Edsger', N'edsger@example.com', 30.00);
GO
-- CDC needs SQL Server Agent (MSSQL_AGENT_ENABLED=true) for the capture job.
IF (SELECT is_cdc_enabled FROM sys.databases WHERE name = 'inventory') = 0
  EXEC sys.sp_cdc_enable_db;
GO
IF NOT EXISTS (SELECT 1 FROM cdc.change_tables WHERE source_object_id = OBJECT_ID('dbo.customers'))
  EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'customers', @role_name = N'cdc_reader', @supports_net_changes = 0;
IF NOT EXISTS (SELECT 1 FROM cdc.change_tables WHERE source_object_id = OBJECT_ID('dbo.orders'))
  EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'orders', @role_name = N'cdc_reader', @supports_net_changes = 0;
IF NOT EXISTS (SELECT 1 FROM cdc.change_tables WHERE source_object_id = OBJECT_ID('dbo.debezium_signal'))
  EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'debezium_signal', @role_name = N'cdc_reader', @supports_net_changes = 0;
GO

-- Debezium's login: reads the change tables through the gating role.
USE master;
IF SUSER_ID('debezium') IS NULL
  CREATE LOGIN debezium WITH PASSWORD = '$(DEBEZIUM_PASSWORD)', CHECK_POLICY = OFF;
-- cdc-sentinel's login: monitoring and drift reads only.
IF SUSER_ID('cdc_sentinel') IS NULL
  CREATE LOGIN cdc_sentinel WITH PASSWORD = '$(SENTINEL_PASSWORD)', CHECK_POLICY = OFF;
GO
USE inventory;
IF USER_ID('debezium') IS NULL CREATE USER debezium FOR LOGIN debezium;
ALTER ROLE cdc_reader ADD MEMBER debezium;
GRANT SELECT ON SCHEMA::dbo TO debezium;
GRANT SELECT ON SCHEMA::cdc TO debezium;
GRANT VIEW DATABASE STATE TO debezium;
-- Debezium writes signals? No: cdc-sentinel does (repairs), Debezium reads them.
IF USER_ID('cdc_sentinel') IS NULL CREATE USER cdc_sentinel FOR LOGIN cdc_sentinel;
ALTER ROLE cdc_reader ADD MEMBER cdc_sentinel;
GRANT SELECT ON SCHEMA::cdc TO cdc_sentinel;             -- change tables, lsn_time_mapping, change_tables
GRANT EXECUTE ON SCHEMA::cdc TO cdc_sentinel;            -- cdc.fn_cdc_get_all_changes_*
GRANT VIEW DATABASE STATE TO cdc_sentinel;               -- sys.dm_cdc_log_scan_sessions, sys.dm_cdc_errors
GRANT SELECT ON dbo.customers TO cdc_sentinel;           -- drift sampling
GRANT SELECT ON dbo.orders TO cdc_sentinel;
GRANT SELECT, INSERT ON dbo.debezium_signal TO cdc_sentinel; -- repair signals (execute-snapshot)
GO
-- msdb.dbo.cdc_jobs (capture polling interval, cleanup retention).
USE msdb;
IF USER_ID('cdc_sentinel') IS NULL CREATE USER cdc_sentinel FOR LOGIN cdc_sentinel;
GRANT SELECT ON dbo.cdc_jobs TO cdc_sentinel;
GO
