SELECT sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()), DATEPART(TZOFFSET, SYSDATETIMEOFFSET())
