// Package retention decides how long each stage of the pipeline can still
// keep the changes the next stage has not taken (Kafka topic retention for
// the sink, SQL Server's CDC cleanup or a PostgreSQL replication slot for
// the source) and whether some were already lost. Collectors, doctor and
// the remediator ask it, so "time left before data loss" has one answer.
package retention
