SELECT ct.capture_instance, cc.column_name
FROM [erp].cdc.change_tables ct JOIN [erp].cdc.captured_columns cc ON cc.object_id = ct.object_id
WHERE ct.source_object_id = OBJECT_ID(@p1)
ORDER BY ct.create_date DESC, ct.capture_instance, cc.column_ordinal
