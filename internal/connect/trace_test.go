package connect

import "testing"

// What the Debezium JDBC sink reports when the target lacks a column.
const sinkTrace = `org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.
	at org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:636)
	at org.apache.kafka.connect.runtime.WorkerSinkTask.poll(WorkerSinkTask.java:345)
Caused by: org.apache.kafka.connect.errors.ConnectException: JDBC sink connector failure
	at io.debezium.connector.jdbc.JdbcSinkConnectorTask.put(JdbcSinkConnectorTask.java:121)
	... 11 more
Caused by: org.hibernate.exception.SQLGrammarException: could not execute statement [ERROR: column "tier" of relation "customers" does not exist
  Position: 37]
	at org.hibernate.exception.internal.SQLStateConversionDelegate.convert(SQLStateConversionDelegate.java:89)
	... 14 more
Caused by: org.postgresql.util.PSQLException: ERROR: column "tier" of relation "customers" does not exist
  Position: 37
	at org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2733)
	... 22 more
`

func TestTraceReading(t *testing.T) {
	cases := []struct {
		name, trace, root string
	}{
		{"sink", sinkTrace, `org.postgresql.util.PSQLException: ERROR: column "tier" of relation "customers" does not exist Position: 37`},
		{"no cause: the headline", "java.lang.IllegalStateException: boom\n\tat a.b(C.java:1)\n", "java.lang.IllegalStateException: boom"},
		{"one line", "boom", "boom"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := RootCause(c.trace); got != c.root {
				t.Errorf("root cause %q, want %q", got, c.root)
			}
		})
	}
}
