package testenv

import "fmt"

// JDBCSink returns the configuration of a Debezium JDBC sink that writes
// topic into table of the pipeline's target database, with JSON
// converters that carry schemas and no error tolerance. Tests that need a
// connector of their own start from it and override what they test.
func (p *Pipeline) JDBCSink(topic, table string) map[string]string {
	host := p.Env["CDC_PG_HOST"]
	if host == "" {
		host = "127.0.0.1"
	}
	return map[string]string{
		"connector.class":                     "io.debezium.connector.jdbc.JdbcSinkConnector",
		"tasks.max":                           "1",
		"topics":                              topic,
		"connection.url":                      fmt.Sprintf("jdbc:postgresql://%s:%s/target", host, p.Env["CDC_PG_PORT"]),
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
