WITH c AS (SELECT CONVERT(binary(10), @p1, 2) AS lsn), ct AS (SELECT (SELECT tran_end_time FROM cdc.lsn_time_mapping WHERE start_lsn = (SELECT lsn FROM c)) AS committed_at)
SELECT (SELECT retention FROM msdb.dbo.cdc_jobs WHERE database_id = DB_ID() AND job_type = N'cleanup'),
  sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()),
  (SELECT committed_at FROM ct),
  (SELECT TOP 1 m.tran_end_time FROM cdc.lsn_time_mapping m WHERE m.start_lsn > (SELECT lsn FROM c) AND (m.tran_end_time > (SELECT committed_at FROM ct) OR (SELECT committed_at FROM ct) IS NULL) ORDER BY m.start_lsn)
