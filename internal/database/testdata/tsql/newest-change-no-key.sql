SELECT TOP 1 sys.fn_cdc_map_lsn_to_time(__$start_lsn), DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) FROM cdc.[dbo_log_CT] WHERE __$operation <> 1 ORDER BY __$start_lsn DESC
