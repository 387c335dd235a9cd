// Package connectorkind is the one place that knows what a Kafka Connect
// connector's configuration means for the pipeline: which Debezium or
// JDBC connector a class is, which database and tables a source captures,
// which topics a sink reads and which table it writes, its dead-letter
// queue, key and insert modes, signal and heartbeat settings, how many
// tasks it can usefully run, and which names Connect's REST API can
// address. It also finds, on the live clusters, the source capturing a
// table and the sinks writing to a database (search.go). The collectors,
// doctor, the connectors command, drift, reconcile and the remediator
// all ask it, so they cannot disagree.
package connectorkind
