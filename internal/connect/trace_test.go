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
		name, trace, headline, root, summary string
	}{
		{"sink", sinkTrace,
			"org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.",
			`org.postgresql.util.PSQLException: ERROR: column "tier" of relation "customers" does not exist Position: 37`,
			`org.postgresql.util.PSQLException: ERROR: column "tier" of relation "customers" does not exist Position: 37 (surfaced as: org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.)`},
		{"no cause", "java.lang.IllegalStateException: boom\n\tat a.b(C.java:1)\n", "java.lang.IllegalStateException: boom", "java.lang.IllegalStateException: boom", "java.lang.IllegalStateException: boom"},
		{"one line", "boom", "boom", "boom", "boom"},
		{"empty", "", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := TraceHeadline(c.trace); got != c.headline {
				t.Errorf("headline %q, want %q", got, c.headline)
			}
			if got := RootCause(c.trace); got != c.root {
				t.Errorf("root cause %q, want %q", got, c.root)
			}
			if got := TraceSummary(c.trace); got != c.summary {
				t.Errorf("summary %q, want %q", got, c.summary)
			}
		})
	}
}
