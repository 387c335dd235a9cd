-- lookup by uniqueidentifier
[id] IN (CAST('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS uniqueidentifier), CAST('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12' AS uniqueidentifier))
-- lookup by datetime2(7)
[valid_to] BETWEEN CAST('9999-12-31T23:59:59.9999990' AS datetime2(7)) AND CAST('9999-12-31T23:59:59.9999999' AS datetime2(7)) OR [valid_to] BETWEEN CAST('2024-01-02T03:04:05.1234560' AS datetime2(7)) AND CAST('2024-01-02T03:04:05.1234580' AS datetime2(7))
-- lookup by varchar, int
([code] = CONVERT(varchar(8000), N'café' COLLATE Cyrillic_General_CI_AS) AND [n] = 1) OR ([code] = CONVERT(varchar(8000), N'it''s' COLLATE Cyrillic_General_CI_AS) AND [n] = 2)
-- lookup by nchar(4)
[code] = N'ab'
-- sample of a large table keyed by a uniqueidentifier
SELECT TOP (100) LOWER(CONVERT(varchar(36), [id])) AS kenc FROM [dbo].[orders] TABLESAMPLE (0.020000 PERCENT) ORDER BY NEWID()

