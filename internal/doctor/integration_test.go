package doctor

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// These tests run the doctor against the real local pipeline
// (scripts/pipeline/pipeline.sh). Each breakage is built from objects of
// its own with unique names (connectors created STOPPED so they neither
// create slots nor write anywhere, a scratch schema, a publication, a
// slot) and removed in t.Cleanup; demo-source and demo-sink are only read.

type pipelineEnv struct {
	p       *testenv.Pipeline
	client  *connect.Client
	source  *sql.DB
	target  *sql.DB
	id      string
	pgPort  string
	kafkaIn config.Kafka
}

func newPipelineEnv(t *testing.T) *pipelineEnv {
	t.Helper()
	p := testenv.Need(t)
	return &pipelineEnv{
		p: p, client: connecttest.Local(t, p), source: p.SourceDB(t), target: p.TargetDB(t),
		id:      fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000),
		pgPort:  firstNonEmpty(p.Env["CDC_PG_PORT"], "55432"),
		kafkaIn: config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ","), Timeout: 10 * time.Second},
	}
}

func (e *pipelineEnv) exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// cleanup runs statements at the end of the test, reporting failures.
func (e *pipelineEnv) cleanup(t *testing.T, db *sql.DB, stmts ...string) {
	t.Cleanup(func() {
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Errorf("cleanup %s: %v", s, err)
			}
		}
	})
}

// createStopped registers a connector in the STOPPED state (KIP-980,
// Kafka 3.7+): its configuration is listed, but no task starts.
func (e *pipelineEnv) createStopped(t *testing.T, name string, cfg map[string]string) {
	t.Helper()
	cfg["name"] = name
	body, _ := json.Marshal(map[string]any{"name": name, "config": cfg, "initial_state": "STOPPED"})
	resp, err := http.Post(e.p.ConnectURL+"/connectors", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		t.Fatalf("creating %s: %s: %s", name, resp.Status, msg.String())
	}
	t.Cleanup(func() {
		if err := e.client.Delete(context.Background(), name); err != nil {
			t.Errorf("deleting %s: %v", name, err)
		}
	})
	// The expanded listing leaves out a connector until its status has
	// been written to the status topic.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.client.Status(context.Background(), name)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no status after 30s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *pipelineEnv) doctor(t *testing.T, yml string) (*Doctor, *config.Config) {
	t.Helper()
	cfg := mustParse(t, yml)
	dbs := openDatabases(t, cfg)
	d := &Doctor{Config: cfg, Clusters: []Cluster{{Name: "local", Client: e.client}}, Databases: dbs}
	if cfg.Kafka != nil {
		k, err := kafka.New(*cfg.Kafka)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(k.Close)
		d.Kafka = NewKafkaTopics(k)
	}
	return d, cfg
}

func (e *pipelineEnv) baseYAML() string {
	return fmt.Sprintf(`connect_clusters: [{name: local, url: %q}]
kafka: {brokers: [%q]}
`, e.p.ConnectURL, e.p.KafkaBrokers)
}

func TestPipelineBrokenConfigurations(t *testing.T) {
	e := newPipelineEnv(t)
	ctx := context.Background()
	schema := "it_doctor_" + e.id
	pub := "it_doctor_pub_" + e.id
	slot := "it_doctor_slot_" + e.id
	prefix := "itdoc" + e.id
	name := func(s string) string { return "it-doctor-" + e.id + "-" + s }
	tgt := func(s string) string { return "it_doctor_" + e.id + "_" + s }

	// Source: four tables; the publication leaves out "unpublished", the
	// connector's include list leaves out "orphan".
	e.cleanup(t, e.source, "DROP SCHEMA IF EXISTS "+schema+" CASCADE", "DROP PUBLICATION IF EXISTS "+pub)
	e.exec(t, e.source, "CREATE SCHEMA "+schema)
	for _, tb := range []string{"captured", "unpublished", "extra", "nosink", "orphan"} {
		e.exec(t, e.source, fmt.Sprintf("CREATE TABLE %s.%s (id int PRIMARY KEY, v text)", schema, tb))
	}
	e.exec(t, e.source, fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s.captured, %s.extra, %s.nosink", pub, schema, schema, schema))
	// Target: "captured" lands in a table without the watermark column.
	e.cleanup(t, e.target, "DROP TABLE IF EXISTS "+tgt("captured"), "DROP TABLE IF EXISTS "+tgt("unpublished"))
	e.exec(t, e.target,
		"CREATE TABLE "+tgt("captured")+" (id int PRIMARY KEY, v text)",
		"CREATE TABLE "+tgt("unpublished")+" (id int PRIMARY KEY, v text, __source_ts_ms bigint)")
	// An inactive logical slot nobody consumes.
	e.cleanup(t, e.source, fmt.Sprintf("SELECT pg_drop_replication_slot('%s') FROM pg_replication_slots WHERE slot_name = '%s'", slot, slot))
	e.exec(t, e.source, fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'pgoutput')", slot))

	// A source without heartbeat and without signal table.
	e.createStopped(t, name("src"), map[string]string{
		"connector.class": connectorkind.ClassPostgres, "plugin.name": "pgoutput",
		"database.hostname": "127.0.0.1", "database.port": e.pgPort, "database.user": "cdc", "database.password": "cdc", "database.dbname": "source",
		"topic.prefix": prefix, "slot.name": "it_doctor_never_" + e.id, "publication.name": pub, "publication.autocreate.mode": "disabled",
		"table.include.list": schema + `\.(captured|unpublished|extra|nosink)`,
	})
	sink := func(topics string, kv ...string) map[string]string {
		cfg := map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": topics,
			"connection.url": "jdbc:postgresql://127.0.0.1:" + e.pgPort + "/target", "connection.username": "cdc", "connection.password": "cdc"}
		for i := 0; i+1 < len(kv); i += 2 {
			cfg[kv[i]] = kv[i+1]
		}
		return cfg
	}
	topic := func(tb string) string { return prefix + "." + schema + "." + tb }
	// Tolerance all without a DLQ; tolerance none; a DLQ topic that was
	// never created, and a topic no configured table produces.
	e.createStopped(t, name("sink-nodlq"), sink(topic("captured"), "errors.tolerance", "all"))
	e.createStopped(t, name("sink-none"), sink(topic("unpublished"), "errors.tolerance", "none",
		"errors.deadletterqueue.topic.name", name("none-dlq")))
	e.createStopped(t, name("sink-dlq"), sink(prefix+".elsewhere.unknown", "errors.tolerance", "all",
		"errors.deadletterqueue.topic.name", name("missing-dlq"), "errors.deadletterqueue.topic.replication.factor", "1"))

	d, _ := e.doctor(t, e.baseYAML()+fmt.Sprintf(`databases:
  - {name: source, driver: postgres, dsn: %q, connectors: [%s]}
  - {name: target, driver: postgres, dsn: %q}
  - {name: dead, driver: postgres, dsn: 'postgres://cdc:cdc@127.0.0.1:1/none?connect_timeout=2', query_timeout: 3s}
tables:
  - {name: captured, source: {database: source, table: %s.captured}, target: {database: target, table: public.%s}}
  - {name: unpublished, source: {database: source, table: %s.unpublished}, target: {database: target, table: public.%s},
     signal: {connector: %s, table: %s.debezium_signal}}
  - {name: orphan, source: {database: source, table: %s.orphan}, target: {database: target, table: public.%s}}
  - {name: nosink, source: {database: source, table: %s.nosink}, target: {database: target, table: public.%s}}
`, e.p.SourceDSN, name("src"), e.p.TargetDSN, schema, tgt("captured"), schema, tgt("unpublished"), name("src"), schema, schema, tgt("orphan"), schema, tgt("nosink")))
	r := d.Run(ctx)
	t.Logf("findings:\n%s", dump(r))

	src := "connector:local/" + name("src")
	cases := []struct {
		name, check, target string
		sev                 Severity
		msg, fix            string
	}{
		{"sink without DLQ", CheckSinkDLQ, "connector:local/" + name("sink-nodlq"), Error, "silently", "errors.deadletterqueue.topic.name=" + name("sink-nodlq") + "-dlq"},
		{"tolerance none", CheckSinkErrorsTolerance, "connector:local/" + name("sink-none"), Warning, "fails the task", "errors.tolerance=all"},
		{"DLQ topic missing", CheckDLQTopicMissing, "connector:local/" + name("sink-dlq"), Warning, name("missing-dlq") + " does not exist", "--topic " + name("missing-dlq")},
		{"source without heartbeat", CheckSourceHeartbeat, src, Warning, "no heartbeat", "heartbeat.interval.ms=10000"},
		{"source without signal table", CheckSignal, src, Warning, "signal.data.collection unset", "signal.enabled.channels=source"},
		{"source without the sink notification channel", CheckNotification, src, Info, "cannot be followed", "notification.sink.topic.name=" + prefix + ".notifications"},
		{"table not in publication", CheckTableNotCaptured, "table:unpublished", Error, "not in publication " + pub, fmt.Sprintf(`ALTER PUBLICATION "%s" ADD TABLE "%s"."unpublished";`, pub, schema)},
		{"target without watermark column", CheckWatermarkColumn, "table:captured", Warning, "no watermark column __source_ts_ms", "transforms.unwrap.add.fields=source.ts_ms"},
		{"target table missing", CheckWatermarkColumn, "table:orphan", Error, "does not exist", "tables[].target.table of orphan"},
		{"no signal configured for the table", CheckSignal, "table:captured", Warning, "tables[].signal unset", "connector: " + name("src")},
		{"signal connector has no signal table", CheckSignal, "table:unpublished", Error, "has no signal.data.collection", "signal.data.collection=" + schema + ".debezium_signal"},
		{"inactive slot", CheckReplicationSlot, "database:source/" + slot, Warning, "is inactive", fmt.Sprintf("SELECT pg_drop_replication_slot('%s');", slot)},
		{"config table no connector captures", CheckTableNotCovered, "table:orphan", Error, "no Debezium source connector captures " + schema + ".orphan", `add ` + schema + `\.orphan to table.include.list of ` + name("src")},
		{"config table no sink reads", CheckTableNotCovered, "table:nosink", Error, "no sink connector reads " + topic("nosink"), "add " + topic("nosink") + " to topics"},
		{"source captures an unconfigured table", CheckConnectorUnconfigured, src, Warning, "source:" + schema + ".extra", "name: extra"},
		{"sink reads an unconfigured topic", CheckConnectorUnconfigured, "connector:local/" + name("sink-dlq"), Warning, prefix + ".elsewhere.unknown", "tables entry"},
		{"dead database", CheckDatabaseUnreachable, "database:dead", Error, "database dead", "databases[].dsn"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mustFind(t, r, tc.check, tc.target, tc.sev, tc.msg, tc.fix) })
	}
	// Covered tables are not reported as uncovered.
	mustNotFind(t, r, CheckTableNotCovered, "table:captured")
	mustNotFind(t, r, CheckTableNotCovered, "table:unpublished")
	if r.ExitCode() != 1 {
		t.Errorf("exit code %d for a broken pipeline", r.ExitCode())
	}
}

// The demo pipeline is set up the way the doctor recommends: nothing it
// owns may be reported at warning or above.
func TestPipelineDemoIsHealthy(t *testing.T) {
	e := newPipelineEnv(t)
	d, _ := e.doctor(t, e.baseYAML()+fmt.Sprintf(`databases:
  - {name: source, driver: postgres, dsn: %q}
  - {name: target, driver: postgres, dsn: %q}
tables:
  - {name: customers, source: {database: source, table: inventory.customers}, target: {database: target, table: public.customers}, key: [id],
     signal: {connector: demo-source, table: inventory.debezium_signal}}
  - {name: orders, source: {database: source, table: inventory.orders}, target: {database: target, table: public.orders}, key: [customer_id, order_no],
     signal: {connector: demo-source, table: inventory.debezium_signal}}
`, e.p.SourceDSN, e.p.TargetDSN))
	r := d.Run(context.Background())
	ours := map[string]bool{"connector:local/demo-source": true, "connector:local/demo-sink": true, "table:customers": true, "table:orders": true,
		"database:source/" + firstNonEmpty(e.p.Env["CDC_SLOT_NAME"], "demo_slot"): true, "database:source": true, "database:target": true}
	for _, f := range r.Findings {
		if ours[f.Target] && f.Severity >= Warning {
			t.Errorf("demo pipeline: %s %s %s: %s", f.Severity, f.Check, f.Target, f.Message)
		}
	}
	// The demo source sends its notifications to Kafka, so repairs can be
	// followed.
	mustNotFind(t, r, CheckNotification, "connector:local/demo-source")
	if r.Summary.Tables != 2 || r.Summary.Databases != 2 || r.Summary.Connectors < 2 {
		t.Errorf("summary %+v", r.Summary)
	}
}

// A live worker validates; every field error comes back with its name.
func TestPipelineValidateFiles(t *testing.T) {
	e := newPipelineEnv(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	url := "jdbc:postgresql://127.0.0.1:" + e.pgPort + "/target"
	good := write("good.json", fmt.Sprintf(`{"name": "it-validate-good", "config": {"connector.class": %q, "topics": "a",
  "connection.url": %q, "insert.mode": "upsert", "primary.key.mode": "record_key", "errors.tolerance": "all",
  "errors.deadletterqueue.topic.name": "a-dlq", "tasks.max": 1}}`, connectorkind.ClassDebeziumJDBC, url))
	bad := write("bad.json", fmt.Sprintf(`{"connector.class": %q, "topics": "a", "connection.url": %q,
  "insert.mode": "bogus", "errors.tolerance": "sometimes", "tasks.max": "many"}`, connectorkind.ClassDebeziumJDBC, url))
	results := ValidateFiles(context.Background(), e.client, []string{good, bad})
	if !results[0].Valid || len(results[0].FieldErrors) != 0 || results[0].Error != "" {
		t.Errorf("good file: %+v", results[0])
	}
	if results[1].Valid || results[1].Connector != "bad" {
		t.Fatalf("bad file: %+v", results[1])
	}
	fields := map[string]string{}
	for _, fe := range results[1].FieldErrors {
		fields[fe.Field] = fe.Source
	}
	for field, source := range map[string]string{"insert.mode": "cdc-sentinel", "errors.tolerance": "worker", "tasks.max": "worker"} {
		if fields[field] != source {
			t.Errorf("bad file: want a %s error on %s, got %+v", source, field, results[1].FieldErrors)
		}
	}
	var out bytes.Buffer
	if err := WriteValidationTable(&out, results); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"good.json: valid", "bad.json: INVALID", "  errors.tolerance: Invalid value sometimes", "  insert.mode: invalid value \"bogus\""} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table output lacks %q:\n%s", want, out.String())
		}
	}
	if ValidationExitCode(results) != 1 {
		t.Error("exit code 0 with an invalid file")
	}
}

func TestPipelineValidateUnknownPlugin(t *testing.T) {
	e := newPipelineEnv(t)
	p := t.TempDir() + "/x.json"
	os.WriteFile(p, []byte(`{"connector.class": "com.example.Nope"}`), 0o600)
	res := ValidateFiles(context.Background(), e.client, []string{p})[0]
	if res.Valid || !strings.Contains(res.Error, "worker refused to validate") || !strings.Contains(res.Error, "com.example.Nope") {
		t.Errorf("unknown plugin: %+v", res)
	}
}
