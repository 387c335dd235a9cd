package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

func TestConnectorChecks(t *testing.T) {
	good := map[string]string{
		"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "a", "errors.tolerance": "all",
		"errors.deadletterqueue.topic.name": "s-dlq", "errors.deadletterqueue.context.headers.enable": "true",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	pgSource := map[string]string{"connector.class": connectorkind.ClassPostgres, "heartbeat.interval.ms": "10000", "signal.data.collection": "inventory.debezium_signal", "database.dbname": "db",
		"topic.prefix": "pg", "notification.enabled.channels": "sink", "notification.sink.topic.name": "pg.notifications"}
	mssql := map[string]string{"connector.class": connectorkind.ClassSQLServer, "heartbeat.interval.ms": "10000", "signal.data.collection": "shop.dbo.debezium_signal", "database.names": "shop,crm",
		"topic.prefix": "ms", "notification.enabled.channels": "log,sink", "notification.sink.topic.name": "ms.notifications"}
	cases := []struct {
		name     string
		typ      string
		cfg      map[string]string
		check    string
		sev      Severity
		msg, fix string
	}{
		{"sink with tolerance all and no DLQ loses records", connect.TypeSink, with(good, "errors.deadletterqueue.topic.name", ""),
			CheckSinkDLQ, Error, "silently", "errors.deadletterqueue.topic.name=s-dlq"},
		{"sink with tolerance none stops on a bad record", connect.TypeSink, with(good, "errors.tolerance", "none"),
			CheckSinkErrorsTolerance, Warning, "never written with tolerance none", "errors.tolerance=all"},
		{"tolerance none is the default", connect.TypeSink, with(good, "errors.tolerance", ""),
			CheckSinkErrorsTolerance, Warning, "(the default)", "errors.tolerance=all"},
		{"DLQ without context headers", connect.TypeSink, with(good, "errors.deadletterqueue.context.headers.enable", ""),
			CheckSinkDLQHeaders, Warning, "gets no context headers", "errors.deadletterqueue.context.headers.enable=true"},
		{"DLQ with context headers off", connect.TypeSink, with(good, "errors.deadletterqueue.context.headers.enable", "false"),
			CheckSinkDLQHeaders, Warning, "dlq replay cannot send them back", "errors.deadletterqueue.context.headers.enable=true"},
		{"sink with neither has no DLQ", connect.TypeSink, map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "a"},
			CheckSinkDLQ, Warning, "no dead-letter queue", "errors.deadletterqueue.topic.name=s-dlq"},
		{"source without heartbeat", connect.TypeSource, with(pgSource, "heartbeat.interval.ms", ""),
			CheckSourceHeartbeat, Warning, "no heartbeat", "heartbeat.interval.ms=10000"},
		{"heartbeat 0 is off", connect.TypeSource, with(pgSource, "heartbeat.interval.ms", "0"),
			CheckSourceHeartbeat, Warning, "no heartbeat", "heartbeat.action.query"},
		{"SQL Server tasks.max above the database count", connect.TypeSource, with(mssql, "tasks.max", "4"),
			CheckSourceTasksMax, Warning, "tasks.max is 4 but the Debezium SQL Server source runs at most one task per database, and database.names lists 2", "tasks.max=2"},
		{"source without signal table", connect.TypeSource, with(pgSource, "signal.data.collection", ""),
			CheckSignal, Warning, "incremental snapshots cannot run", "signal.data.collection=<schema>.debezium_signal"},
		{"source without the sink notification channel", connect.TypeSource, with(pgSource, "notification.enabled.channels", ""),
			CheckNotification, Info, "cannot be followed", "notification.enabled.channels=sink and notification.sink.topic.name=pg.notifications"},
		{"SQL Server source with only the log channel", connect.TypeSource, with(mssql, "notification.enabled.channels", "log"),
			CheckNotification, Info, "never completes", "notification.sink.topic.name=ms.notifications"},
		{"sink channel without its topic", connect.TypeSource, with(pgSource, "notification.sink.topic.name", ""),
			CheckNotification, Error, "refuses", "notification.sink.topic.name=pg.notifications"},
		{"SQL Server signal table must be CDC-enabled", connect.TypeSource, with(mssql, "signal.data.collection", ""),
			CheckSignal, Warning, "incremental snapshots cannot run", "sys.sp_cdc_enable_table"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &Doctor{Config: mustParse(t, "connect_clusters: [{name: c, url: 'http://x:8083'}]\n"),
				Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{conn("s", tc.typ, tc.cfg)}}}}}
			r := d.Run(context.Background())
			mustFind(t, r, tc.check, "connector:c/s", tc.sev, tc.msg, tc.fix)
			if r.ExitCode() != 1 {
				t.Errorf("exit code %d with a %s finding", r.ExitCode(), tc.sev)
			}
		})
	}
}

func TestHealthyConnectorsHaveNoFindings(t *testing.T) {
	d := &Doctor{Config: mustParse(t, "connect_clusters: [{name: c, url: 'http://x:8083'}]\n"),
		Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{
			conn("sink", connect.TypeSink, map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "a", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": "dlq", "errors.deadletterqueue.context.headers.enable": "true",
				"insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true", "schema.evolution": "basic"}),
			conn("src", connect.TypeSource, map[string]string{"connector.class": connectorkind.ClassSQLServer, "heartbeat.interval.ms": "5000", "signal.data.collection": "shop.dbo.sig", "database.names": "shop", "tasks.max": "1",
				"notification.enabled.channels": "sink", "notification.sink.topic.name": "shop.notifications"}),
		}}}},
		Kafka: fakeTopics{"dlq": true}}
	r := d.Run(context.Background())
	// Both connectors read from databases that are not configured, which
	// is reported; nothing else is.
	for _, f := range r.Findings {
		if f.Check != CheckConnectorUnconfigured {
			t.Errorf("unexpected finding: %+v", f)
		}
	}
}

func TestDLQTopicMissing(t *testing.T) {
	sink := map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "a", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": "gone-dlq", "errors.deadletterqueue.topic.replication.factor": "1"}
	d := &Doctor{Config: mustParse(t, "connect_clusters: [{name: c, url: 'http://x:8083'}]\n"),
		Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{conn("s", connect.TypeSink, sink)}}}},
		Kafka:    fakeTopics{"a": true}}
	r := d.Run(context.Background())
	mustFind(t, r, CheckDLQTopicMissing, "connector:c/s", Warning, "gone-dlq does not exist", "--topic gone-dlq --partitions 1 --replication-factor 1")
}

func TestFailedConnectorAndTask(t *testing.T) {
	c := conn("s", connect.TypeSink, map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "a", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": "d"})
	trace := "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.\n\tat x.y\n" +
		"Caused by: org.postgresql.util.PSQLException: ERROR: column \"tier\" of relation \"customers\" does not exist\n\tat a.b\n"
	c.Status.Tasks = []connect.TaskInfo{{ID: 0, State: connect.StateFailed, Trace: trace}}
	d := &Doctor{Config: mustParse(t, "connect_clusters: [{name: c, url: 'http://x:8083'}]\n"),
		Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{c}}}}}
	r := d.Run(context.Background())
	f := mustFind(t, r, CheckConnectorFailed, "task:c/s/0", Error, `column "tier" of relation "customers" does not exist`, "cdc-sentinel connectors restart s --only-failed")
	if f.Trace != trace {
		t.Errorf("the finding does not keep the whole trace: %q", f.Trace)
	}
	if strings.Contains(f.Fix, "POST ") {
		t.Errorf("fix names a raw REST call: %s", f.Fix)
	}

	// With several clusters, the command names the cluster.
	d.Config = mustParse(t, "connect_clusters: [{name: c, url: 'http://x:8083'}, {name: other, url: 'http://y:8083'}]\n")
	r = d.Run(context.Background())
	mustFind(t, r, CheckConnectorFailed, "task:c/s/0", Error, "does not exist", "cdc-sentinel connectors restart s --connect-cluster=c --only-failed")
}

func TestUnassignedConnectorAndTask(t *testing.T) {
	c := conn("s", connect.TypeSink, map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "a", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": "d"})
	c.Status.Connector.State = connect.StateUnassigned
	c.Status.Tasks = []connect.TaskInfo{{ID: 0, State: connect.StateRunning}, {ID: 1, State: connect.StateUnassigned}}
	d := &Doctor{Config: mustParse(t, "connect_clusters: [{name: c, url: 'http://x:8083'}]\n"),
		Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{c}}}}}
	r := d.Run(context.Background())
	mustFind(t, r, CheckConnectorUnassigned, "connector:c/s", Warning, "connector is UNASSIGNED: no worker runs it", "scheduled.rebalance.max.delay.ms")
	mustFind(t, r, CheckConnectorUnassigned, "task:c/s/1", Warning, "task is UNASSIGNED", "every worker of the cluster is up")
	for _, f := range r.Findings {
		if f.Check == CheckConnectorUnassigned && f.Target == "task:c/s/0" {
			t.Errorf("a RUNNING task is reported UNASSIGNED: %+v", f)
		}
	}
}

func TestUnreachableClusterIsAnErrorAndSkipsCoverage(t *testing.T) {
	cfg := mustParse(t, `connect_clusters: [{name: c, url: 'http://x:8083'}]
databases: [{name: s, driver: postgres, dsn: 'postgres://u:p@h:5432/s'}, {name: t, driver: postgres, dsn: 'postgres://u:p@h:5432/t'}]
tables: [{name: orders, source: {database: s, table: inventory.orders}, target: {database: t, table: orders}}]
`)
	d := &Doctor{Config: cfg, Clusters: []Cluster{{Name: "c", Client: fakeCluster{err: errors.New("connection refused")}}}}
	r := d.Run(context.Background())
	mustFind(t, r, CheckConnectUnreachable, "cluster:c", Error, "connection refused", "connect_clusters[].url")
	mustNotFind(t, r, CheckTableNotCovered, "table:orders")
}

func TestUnauthenticatedAlertsIsAWarning(t *testing.T) {
	d := &Doctor{Config: mustParse(t, "connect_clusters: [{name: c, url: 'http://x:8083'}]\n"),
		Clusters: []Cluster{{Name: "c", Client: fakeCluster{}}}, AlertsExposure: "POST /alerts ... WITHOUT AUTHENTICATION on :19641"}
	mustFind(t, d.Run(context.Background()), CheckAlertsUnauthenticated, "server:/alerts", Warning, "WITHOUT AUTHENTICATION", "--web.config.file")
	d.AlertsExposure = ""
	mustNotFind(t, d.Run(context.Background()), CheckAlertsUnauthenticated, "server:/alerts")
}
