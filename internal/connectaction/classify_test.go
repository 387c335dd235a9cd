package connectaction

import "testing"

// Traces as Kafka Connect's status endpoint returns them (trimmed frames).
func TestClassifyTraceTellsWhatARestartCannotFix(t *testing.T) {
	cases := []struct{ name, trace, class string }{
		{"jdbc sink, missing column (PostgreSQL)", `org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.
	at org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:636)
Caused by: org.apache.kafka.connect.errors.ConnectException: JDBC sink connector failure
Caused by: org.hibernate.exception.SQLGrammarException: JDBC exception executing SQL [INSERT INTO "public"."orders" ("customer_id","order_no","priority") VALUES (?,?,?) ON CONFLICT ...] [ERROR: column "priority" of relation "orders" does not exist
  Position: 56] [n/a]
Caused by: org.postgresql.util.PSQLException: ERROR: column "priority" of relation "orders" does not exist`, "missing column"},
		{"jdbc sink, missing table (SQL Server)", `org.apache.kafka.connect.errors.ConnectException: JDBC sink connector failure
Caused by: com.microsoft.sqlserver.jdbc.SQLServerException: Invalid object name 'dbo.orders'.`, "missing table"},
		{"jdbc sink, missing table (PostgreSQL)", `Caused by: org.postgresql.util.PSQLException: ERROR: relation "public.orders" does not exist`, "missing table"},
		{"debezium source, bad password", `io.debezium.DebeziumException: Couldn't obtain encoding for database source
Caused by: org.postgresql.util.PSQLException: FATAL: password authentication failed for user "cdc"`, "authentication"},
		{"sql server login", `com.microsoft.sqlserver.jdbc.SQLServerException: Login failed for user 'debezium'. ClientConnectionId:0b7f`, "authentication"},
		{"kafka acl", `org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access topics: [demo.inventory.orders]`, "authentication"},
		{"config", `org.apache.kafka.common.config.ConfigException: Invalid value jdbc:postgres://x for configuration connection.url: must start with jdbc:postgresql`, "configuration"},
		{"column type mismatch: fix the table, then restart", `org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.
Caused by: org.postgresql.util.PSQLException: ERROR: column "note" is of type integer but expression is of type character varying
  Hint: You will need to rewrite or cast the expression.`, ""},
		{"database restarted", `org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer. This connector will be stopped.
Caused by: org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.
Caused by: java.net.SocketException: Connection reset`, ""},
		{"poison json", `org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed due to serialization error:
Caused by: com.fasterxml.jackson.core.JsonParseException: Unrecognized token 'this'`, ""},
		{"no trace", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := classifyTrace(c.trace); got != c.class {
				t.Fatalf("classified %q, want %q", got, c.class)
			}
		})
	}
}
