// Package sqldialect is how cdc-sentinel speaks to each SQL engine it
// compares (PostgreSQL, SQL Server): identifier quoting and literals, the
// SQL that computes rowhash's canonical encoding inside the engine, the
// catalog queries that describe a table, what each SQL Server version
// supports, and the temporal rules that decide at what precision a
// column can be compared along its replication path. The bytes the SQL
// must produce are defined by internal/rowhash; every expression here is
// checked against its Go reference encoder.
package sqldialect
