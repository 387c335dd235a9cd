package collector

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

type fakeKafka struct {
	ends map[string]kafka.TopicEnd
	err  error
}

func (f *fakeKafka) EndOffsets(_ context.Context, topics ...string) (map[string]kafka.TopicEnd, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]kafka.TopicEnd{}
	for _, t := range topics {
		out[t] = f.ends[t]
	}
	return out, nil
}

func (f *fakeKafka) Ping(context.Context) error { return f.err }

func sinkWithDLQ(name, topic string) connect.Connector {
	c := conn(name, "sink", "io.debezium.connector.jdbc.JdbcSinkConnector", "RUNNING")
	if topic != "" {
		c.Info.Config[connectorkind.KeyDLQTopic] = topic
	}
	return c
}

func TestDLQCollector(t *testing.T) {
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{
		sinkWithDLQ("orders-sink", "orders-dlq"),
		sinkWithDLQ("no-dlq-sink", ""),
		sinkWithDLQ("fresh-sink", "fresh-dlq"), // DLQ topic not created yet
		conn("src", "source", connectorkind.ClassPostgres, "RUNNING"),
	}}
	k := &fakeKafka{ends: map[string]kafka.TopicEnd{"orders-dlq": {Records: 7, Exists: true}}}
	out := collect(t, context.Background(), NewDLQCollector(k, cluster))
	want := `# HELP cdc_dlq_records_total Records ever written to a sink connector's dead-letter queue topic: the sum of the topic's partition end offsets, so task restarts do not reset it (0 while the topic does not exist).
# TYPE cdc_dlq_records_total counter
cdc_dlq_records_total{connect_cluster="prod",connector="fresh-sink",topic="fresh-dlq"} 0
cdc_dlq_records_total{connect_cluster="prod",connector="orders-sink",topic="orders-dlq"} 7
# HELP cdc_kafka_up Whether the Kafka cluster answered in this scrape.
# TYPE cdc_kafka_up gauge
cdc_kafka_up 1
`
	if !strings.Contains(out, want) {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestDLQCollectorKafkaDown(t *testing.T) {
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sinkWithDLQ("orders-sink", "orders-dlq")}}
	out := collect(t, context.Background(), NewDLQCollector(&fakeKafka{err: errors.New("dial tcp: connection refused")}, cluster))
	if !strings.Contains(out, "cdc_kafka_up 0") || strings.Contains(out, "cdc_dlq_records_total{") {
		t.Errorf("want cdc_kafka_up 0 and no DLQ series:\n%s", out)
	}
}

func TestDLQCollectorLeavesOutTopicsWithUnreadablePartitions(t *testing.T) {
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sinkWithDLQ("a", "a-dlq"), sinkWithDLQ("b", "b-dlq")}}
	k := &fakeKafka{ends: map[string]kafka.TopicEnd{
		"a-dlq": {Records: 3, Exists: true, Err: errors.New("NOT_LEADER_FOR_PARTITION")},
		"b-dlq": {Records: 2, Exists: true},
	}}
	out := collect(t, context.Background(), NewDLQCollector(k, cluster))
	if strings.Contains(out, `topic="a-dlq"`) || !strings.Contains(out, `topic="b-dlq"} 2`) {
		t.Errorf("a partial sum must not be reported (it would look like a counter reset):\n%s", out)
	}
}

func TestDLQCounterDoesNotDipWhenABrokerForgetsTheTopic(t *testing.T) {
	cluster := &fakeCluster{name: "prod", conns: []connect.Connector{sinkWithDLQ("a", "a-dlq")}}
	k := &fakeKafka{ends: map[string]kafka.TopicEnd{"a-dlq": {Records: 5, Exists: true}}}
	c := NewDLQCollector(k, cluster)
	if out := collect(t, context.Background(), c); !strings.Contains(out, `topic="a-dlq"} 5`) {
		t.Fatalf("first scrape:\n%s", out)
	}
	k.ends = map[string]kafka.TopicEnd{"a-dlq": {}} // "unknown topic" from a lagging broker
	if out := collect(t, context.Background(), c); strings.Contains(out, `topic="a-dlq"}`) {
		t.Errorf("a topic seen before must be left out, not reported as 0:\n%s", out)
	}
}

type fakeOffsets struct {
	*fakeCluster
	offsets map[string][]connect.Offset
}

func (f *fakeOffsets) Offsets(_ context.Context, name string) ([]connect.Offset, error) {
	return f.offsets[name], nil
}

// erpThirtySecondsBehind is a SQL Server database captured by erp-source
// whose newest change is 30 s after the commit of LSN 0000002b:000002e3:0003.
func erpThirtySecondsBehind(t *testing.T) (*database.DB, sqlmock.Sqlmock) {
	t.Helper()
	pool, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	db := database.NewWithPool(config.Database{Name: "erp", Driver: config.DriverSQLServer, Connectors: []string{"erp-source"}}, pool)
	mock.ExpectQuery(database.LSNTimesQuery).WithArgs("0000002b000002e30003").WillReturnRows(
		sqlmock.NewRows([]string{"c", "n"}).AddRow(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 12, 0, 30, 0, time.UTC)))
	return db, mock
}

// newOffsetsCollector reads the offset lag of clusters' connectors over
// dbs through a lag reader of their own, as the runtime wires it.
func newOffsetsCollector(dbs []*database.DB, tables []config.Table, clusters ...OffsetsReader) *OffsetsCollector {
	byName := make(map[string]*database.DB, len(dbs))
	for _, db := range dbs {
		byName[db.Name()] = db
	}
	return NewOffsetsCollector(lag.NewReader(byName, nil), dbs, tables, clusters...)
}

func TestOffsetsCollectorSQLServer(t *testing.T) {
	db, mock := erpThirtySecondsBehind(t)
	src := conn("erp-source", "source", connectorkind.ClassSQLServer, "RUNNING")
	other := conn("unrelated", "source", connectorkind.ClassSQLServer, "RUNNING")
	cl := &fakeOffsets{
		fakeCluster: &fakeCluster{name: "prod", conns: []connect.Connector{src, other}},
		offsets: map[string][]connect.Offset{"erp-source": {{
			Partition: map[string]any{"server": "erp", "database": "erp"},
			Offset:    map[string]any{"commit_lsn": "0000002b:000002e3:0003", "change_lsn": "0000002b:000002e3:0002", "event_serial_no": 1.0},
		}}},
	}
	out := collect(t, context.Background(), newOffsetsCollector([]*database.DB{db}, nil, cl))
	if !strings.Contains(out, `cdc_connector_offset_lag_seconds{connect_cluster="prod",connector="erp-source"} 30`) {
		t.Errorf("got\n%s", out)
	}
	if strings.Contains(out, `connector="unrelated"`) {
		t.Error("a connector not capturing from a configured database was reported")
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
}

func TestSQLServerCollectorReportsWhatItCanRead(t *testing.T) {
	pool, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := database.NewWithPool(config.Database{Name: "erp", Driver: config.DriverSQLServer}, pool)
	denied := mssql.Error{Number: 300, Message: "VIEW DATABASE STATE permission denied in database 'erp'."}
	mock.ExpectQuery(database.CDCEnabledQuery).WillReturnRows(sqlmock.NewRows([]string{"e"}).AddRow(true))
	mock.ExpectQuery(database.LogReuseWaitQuery).WillReturnRows(sqlmock.NewRows([]string{"w"}).AddRow("REPLICATION"))
	mock.ExpectQuery(database.CaptureScanQuery).WillReturnError(denied)
	mock.ExpectQuery(database.CDCJobsQuery).WillReturnRows(sqlmock.NewRows([]string{"job_type", "pollinginterval", "retention"}).AddRow("capture", int64(5), int64(0)))
	mock.ExpectQuery(database.CDCErrorsQuery).WillReturnError(denied)
	mock.ExpectQuery(sqldialect.SQLServerVersionQuery).WillReturnRows(sqlmock.NewRows([]string{"major", "level", "edition", "compat"}).AddRow(int64(15), "RTM", int64(2), int64(150)))
	mock.ExpectQuery(database.MaxLSNTimeQuery(false)).WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}).AddRow(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), int64(0)))
	out := collect(t, context.Background(), NewSQLServerCollector(db))
	for _, want := range []string{
		`cdc_sqlserver_cdc_enabled{database="erp"} 1`,
		`cdc_sqlserver_log_waiting_for_capture{database="erp"} 1`,
		`cdc_sqlserver_cdc_job_present{database="erp",job="capture"} 1`,
		`cdc_sqlserver_cdc_job_present{database="erp",job="cleanup"} 0`,
		`cdc_sqlserver_capture_polling_interval_seconds{database="erp"} 5`,
		`cdc_sqlserver_max_lsn_timestamp_seconds{database="erp"} 1.7145648e+09`,
		`cdc_scrape_collector_success{collector="sqlserver"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, "cdc_sqlserver_capture_latency_seconds{") {
		t.Error("latency reported without permission to read it")
	}
}
