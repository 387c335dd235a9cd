// Package schemadrift decides whether a replicated table's columns agree
// across the layers a change travels through: the source table, SQL
// Server's capture instance, the topic's value schema and the target
// table. It is the one home of what counts as schema drift (Compare), of
// which source-to-target type mapping loses values (Lossy) and of the
// type a sink gives a new column (SinkType); the collector, doctor, drift
// and reconcile all ask it.
package schemadrift
