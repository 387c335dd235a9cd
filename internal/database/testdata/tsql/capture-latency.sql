SELECT TOP 1 latency FROM sys.dm_cdc_log_scan_sessions WHERE session_id > 0 AND end_time IS NOT NULL ORDER BY session_id DESC
