-- PostgreSQL
SELECT min("id")::bigint, max("id")::bigint FROM "public"."orders"
-- SQL Server
SELECT CAST(min([OrderID]) AS bigint), CAST(max([OrderID]) AS bigint) FROM [dbo].[Orders]
