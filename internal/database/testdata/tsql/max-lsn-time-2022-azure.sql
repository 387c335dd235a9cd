SELECT sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()), DATEPART(TZOFFSET, sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()) AT TIME ZONE @tz)
