package testenv

import "fmt"

// JDBCSink returns the configuration of a Debezium JDBC sink that writes
// topic into table of the pipeline's target database, with JSON
// converters that carry schemas and no error tolerance. Tests that need a
// connector of their own start from it and override what they test.
func (p *Pipeline) JDBCSink(topic, table string) map[string]string {
	return map[string]string{
		"connector.class":                     "io.debezium.connector.jdbc.JdbcSinkConnector",
		"tasks.max":                           "1",
		"topics":                              topic,
		"connection.url":                      fmt.Sprintf("jdbc:postgresql://%s:%s/target", p.pgHost(), p.Env["CDC_PG_PORT"]),
		"connection.username":                 p.Env["CDC_PG_USER"],
		"connection.password":                 p.Env["CDC_PG_PASSWORD"],
		"connection.pool.min_size":            "1",
		"connection.pool.max_size":            "2",
		"insert.mode":                         "upsert",
		"primary.key.mode":                    "record_key",
		"collection.name.format":              table,
		"schema.evolution":                    "none",
		"key.converter":                       "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable":        "true",
		"value.converter":                     "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable":      "true",
		"consumer.override.auto.offset.reset": "earliest",
	}
}

// PostgresSource returns the configuration of a Debezium PostgreSQL
// source connector of a test's own: its topic prefix, replication slot
// and publication (created by the test, not by the connector), capturing
// tables (a table.include.list) of the pipeline's source database, with
// JSON converters and topics created at replication factor 1. Tests add
// what they test (signals, notifications, snapshot mode).
func (p *Pipeline) PostgresSource(prefix, slot, publication, tables string) map[string]string {
	return map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max":         "1",
		"database.hostname": p.pgHost(), "database.port": p.Env["CDC_PG_PORT"],
		"database.user": p.Env["CDC_PG_USER"], "database.password": p.Env["CDC_PG_PASSWORD"], "database.dbname": "source",
		"topic.prefix": prefix, "plugin.name": "pgoutput",
		"slot.name": slot, "publication.name": publication, "publication.autocreate.mode": "disabled",
		"table.include.list":                        tables,
		"key.converter":                             "org.apache.kafka.connect.json.JsonConverter",
		"value.converter":                           "org.apache.kafka.connect.json.JsonConverter",
		"topic.creation.default.replication.factor": "1",
		"topic.creation.default.partitions":         "1",
		"poll.interval.ms":                          "100",
	}
}

// pgHost is where the pipeline's PostgreSQL listens.
func (p *Pipeline) pgHost() string {
	if h := p.Env["CDC_PG_HOST"]; h != "" {
		return h
	}
	return "127.0.0.1"
}
