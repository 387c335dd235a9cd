package connectorkind

import (
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// Kind is a connector implementation whose settings cdc-sentinel reads.
type Kind int

// The known kinds. Unknown covers every other class; its settings are
// read only where Kafka Connect itself defines them (topics, errors.*).
const (
	Unknown Kind = iota
	DebeziumSQLServer
	DebeziumPostgres
	DebeziumMySQL
	DebeziumOracle
	DebeziumDb2
	// DebeziumJDBCSink is Debezium's own JDBC sink, which reads Debezium
	// change events without ExtractNewRecordState.
	DebeziumJDBCSink
	// ConfluentJDBCSink is io.confluent.connect.jdbc.JdbcSinkConnector,
	// which needs flat records (ExtractNewRecordState).
	ConfluentJDBCSink
	// AivenJDBCSink is the Apache-licensed fork of the Confluent sink; it
	// keeps the Confluent sink's settings.
	AivenJDBCSink
)

// Connector classes, as connector.class spells them.
const (
	ClassSQLServer     = "io.debezium.connector.sqlserver.SqlServerConnector"
	ClassPostgres      = "io.debezium.connector.postgresql.PostgresConnector"
	ClassMySQL         = "io.debezium.connector.mysql.MySqlConnector"
	ClassOracle        = "io.debezium.connector.oracle.OracleConnector"
	ClassDb2           = "io.debezium.connector.db2.Db2Connector"
	ClassDebeziumJDBC  = "io.debezium.connector.jdbc.JdbcSinkConnector"
	ClassConfluentJDBC = "io.confluent.connect.jdbc.JdbcSinkConnector"
	ClassAivenJDBC     = "io.aiven.connect.jdbc.JdbcSinkConnector"
)

// kindInfo is what is fixed per kind.
type kindInfo struct {
	class string
	name  string
	// driver is the configured databases' driver a source reads from
	// (only those cdc-sentinel can open).
	driver string
	source bool
	// port is Debezium's default database.port.
	port string
	// dbInTopic and dbInCollection say whether the database name is the
	// first part of the connector's topic names and data-collection
	// names (SQL Server: <prefix>.<db>.<schema>.<table>, db.schema.table).
	dbInTopic, dbInCollection bool
	// noSchema: MySQL names tables database.table.
	noSchema bool
	// maxTasks is how many tasks the connector can run at all (0: no
	// fixed bound; SQL Server: one per database, see TaskLimit).
	maxTasks int
}

var kinds = map[Kind]kindInfo{
	DebeziumSQLServer: {class: ClassSQLServer, name: "Debezium SQL Server source", driver: config.DriverSQLServer, source: true, port: "1433", dbInTopic: true, dbInCollection: true},
	DebeziumPostgres:  {class: ClassPostgres, name: "Debezium PostgreSQL source", driver: config.DriverPostgres, source: true, port: "5432", maxTasks: 1},
	DebeziumMySQL:     {class: ClassMySQL, name: "Debezium MySQL source", source: true, port: "3306", dbInTopic: true, dbInCollection: true, noSchema: true, maxTasks: 1},
	DebeziumOracle:    {class: ClassOracle, name: "Debezium Oracle source", source: true, port: "1528", dbInCollection: true, maxTasks: 1},
	DebeziumDb2:       {class: ClassDb2, name: "Debezium Db2 source", source: true, port: "50000", maxTasks: 1},
	DebeziumJDBCSink:  {class: ClassDebeziumJDBC, name: "Debezium JDBC sink"},
	ConfluentJDBCSink: {class: ClassConfluentJDBC, name: "Confluent JDBC sink"},
	AivenJDBCSink:     {class: ClassAivenJDBC, name: "Aiven JDBC sink"},
}

var byClass = func() map[string]Kind {
	m := make(map[string]Kind, len(kinds))
	for k, i := range kinds {
		m[i.class] = k
	}
	return m
}()

// Of is the kind of a connector.class.
func Of(class string) Kind { return byClass[strings.TrimSpace(class)] }

// Class is the kind's connector.class ("" for Unknown).
func (k Kind) Class() string { return kinds[k].class }

func (k Kind) String() string {
	if n := kinds[k].name; n != "" {
		return n
	}
	return "unknown connector"
}

// Driver is the driver of the database a Debezium source reads from, or
// "" for sinks and for sources of databases cdc-sentinel cannot open.
func (k Kind) Driver() string { return kinds[k].driver }

// IsSource reports whether the kind is a Debezium source connector.
func (k Kind) IsSource() bool { return kinds[k].source }

// IsJDBCSink reports whether the kind is one of the JDBC sinks.
func (k Kind) IsJDBCSink() bool {
	return k == DebeziumJDBCSink || k == ConfluentJDBCSink || k == AivenJDBCSink
}

// FlatRecords reports whether the sink needs flattened records
// (ExtractNewRecordState) and reads the Confluent sink's settings
// (pk.mode, auto.create, table.name.format) rather than Debezium's.
func (k Kind) FlatRecords() bool { return k == ConfluentJDBCSink || k == AivenJDBCSink }

// DefaultPort is the connector's default database.port.
func (k Kind) DefaultPort() string { return kinds[k].port }

// SourceFor is the Debezium source kind that reads databases of driver
// (Unknown for a driver with none).
func SourceFor(driver string) Kind {
	for k, i := range kinds {
		if i.source && i.driver != "" && i.driver == driver {
			return k
		}
	}
	return Unknown
}
