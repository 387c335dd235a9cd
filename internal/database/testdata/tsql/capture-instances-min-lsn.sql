SELECT OBJECT_SCHEMA_NAME(source_object_id), OBJECT_NAME(source_object_id), capture_instance, sys.fn_cdc_get_min_lsn(capture_instance), create_date FROM cdc.change_tables ORDER BY capture_instance
