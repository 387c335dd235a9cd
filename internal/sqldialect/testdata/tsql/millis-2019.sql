-- datetime2(7), connect mode: milliseconds, truncated
CONVERT(varchar(20), (DATEDIFF_BIG(millisecond, CAST('1970-01-01' AS datetime2(7)), [at]) * 1000))
-- datetime2(7), compare.time_precision: ms: milliseconds of the microseconds rounded half up, truncated
CONVERT(varchar(20), ((DATEDIFF_BIG(millisecond, CAST('1970-01-01' AS datetime2(7)), [at]) + CASE WHEN DATEPART(nanosecond, [at]) % 1000000 >= 999500 THEN 1 ELSE 0 END) * 1000))
-- datetime2(7), timestamp(3) target: milliseconds of the microseconds rounded half up, rounded half away from 2000-01-01
CONVERT(varchar(20), ((DATEDIFF_BIG(millisecond, CAST('1970-01-01' AS datetime2(7)), [at]) + CASE WHEN DATEPART(nanosecond, [at]) % 1000000 >= CASE WHEN DATEDIFF_BIG(second, CAST('1970-01-01' AS datetime2(7)), [at]) < 946684800 THEN 500500 ELSE 499500 END THEN 1 ELSE 0 END) * 1000))
-- datetimeoffset(7), connect mode: microseconds
CONVERT(varchar(20), (DATEDIFF_BIG(microsecond, CAST('1970-01-01 00:00:00 +00:00' AS datetimeoffset(7)), [at]) + CASE WHEN DATEPART(nanosecond, [at]) % 1000 >= 500 THEN 1 ELSE 0 END))
-- datetimeoffset(7), compare.time_precision: ms: milliseconds of the microseconds rounded half up, truncated
CONVERT(varchar(20), ((DATEDIFF_BIG(millisecond, CAST('1970-01-01 00:00:00 +00:00' AS datetimeoffset(7)), [at]) + CASE WHEN DATEPART(nanosecond, [at]) % 1000000 >= 999500 THEN 1 ELSE 0 END) * 1000))
-- datetimeoffset(7), timestamp(3) target: milliseconds of the microseconds rounded half up, rounded half away from 2000-01-01
CONVERT(varchar(20), ((DATEDIFF_BIG(millisecond, CAST('1970-01-01 00:00:00 +00:00' AS datetimeoffset(7)), [at]) + CASE WHEN DATEPART(nanosecond, [at]) % 1000000 >= CASE WHEN DATEDIFF_BIG(second, CAST('1970-01-01 00:00:00 +00:00' AS datetimeoffset(7)), [at]) < 946684800 THEN 500500 ELSE 499500 END THEN 1 ELSE 0 END) * 1000))
