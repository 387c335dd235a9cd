-- datetime key 2024-01-02 03:04:05.123
[at] = CAST(N'2024-01-02T03:04:05.123' AS datetime)
-- smalldatetime key 2024-01-02 03:04:00.000
[at] = CAST(N'2024-01-02T03:04:00.000' AS smalldatetime)
-- datetime2 key 2024-01-02 03:04:05.1234567
[at] = CAST(N'2024-01-02T03:04:05.1234567' AS datetime2(7))
-- datetimeoffset key 2024-01-02 03:04:05.1234567 +01:00
[at] = CAST(N'2024-01-02T03:04:05.1234567+01:00' AS datetimeoffset(7))
-- date key 2024-01-02
[on] = CAST(N'2024-01-02' AS date)
-- time key 03:04:05.1234567
[tm] = CAST(N'03:04:05.1234567' AS time(7))
-- nvarchar key Жук
[name] = N'Жук'
-- varchar key Жук
[name] = CONVERT(varchar(8000), N'Жук' COLLATE Cyrillic_General_CI_AS)
