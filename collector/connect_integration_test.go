package collector

import (
	"context"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// These tests run against the real Kafka Connect worker of the local
// pipeline (scripts/pipeline/pipeline.sh up). They create connectors of
// their own, so the demo connectors other tests rely on stay untouched.

// scrapeUntil collects until every want line appears, or fails after d.
func scrapeUntil(t *testing.T, c *connect.Client, d time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	var out string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out = collect(t, ctx, NewConnectCollector(c))
		cancel()
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s still no %s in:\n%s", d, missing, grepLines(out, "cdc_connect_"))
		}
		time.Sleep(time.Second)
	}
}

func grepLines(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) && (strings.HasSuffix(l, " 1") || strings.HasPrefix(l, "cdc_connect_up")) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// testSink registers a JDBC sink of the test's own, reading a topic of its
// own, and removes it (and its table) when the test ends.
func testSink(t *testing.T, p *testenv.Pipeline, c *connect.Client, name, table string, extra map[string]string) {
	t.Helper()
	ctx := context.Background()
	cfg := p.JDBCSink(name, table)
	for k, v := range extra {
		cfg[k] = v
	}
	if _, err := c.PutConfig(ctx, name, cfg); err != nil {
		t.Fatalf("creating connector %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := c.Delete(context.Background(), name); err != nil {
			t.Logf("deleting %s: %v", name, err)
		}
	})
}

// produce writes key/value lines to a topic with Kafka's own console
// producer, so the records are exactly what a real producer sends.
func produce(t *testing.T, p *testenv.Pipeline, topic string, records ...[2]string) {
	t.Helper()
	var in strings.Builder
	for _, r := range records {
		in.WriteString(r[0] + "|" + r[1] + "\n")
	}
	cmd := exec.Command(p.Env["CDC_PIPELINE_SCRIPT"], "kafka", "org.apache.kafka.tools.ConsoleProducer",
		"--bootstrap-server", p.KafkaBrokers, "--topic", topic,
		"--property", "parse.key=true", "--property", "key.separator=|")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("producing to %s: %v\n%s", topic, err, out)
	}
}

func TestRealWorkerReportsTheDemoConnectorsRunning(t *testing.T) {
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	scrapeUntil(t, c, 60*time.Second,
		`cdc_connect_up{connect_cluster="local"} 1`,
		`cdc_connect_connector_state{connect_cluster="local",connector="demo-source",state="RUNNING"} 1`,
		`cdc_connect_connector_state{connect_cluster="local",connector="demo-sink",state="RUNNING"} 1`,
		`cdc_connect_task_state{connect_cluster="local",connector="demo-sink",state="RUNNING",task="0"} 1`,
		`cdc_connect_connector_info{class="io.debezium.connector.postgresql.PostgresConnector",connect_cluster="local",connector="demo-source",type="source"} 1`,
		`cdc_connect_connector_info{class="io.debezium.connector.jdbc.JdbcSinkConnector",connect_cluster="local",connector="demo-sink",type="sink"} 1`,
	)
}

func TestRealWorkerPausedConnectorShowsPaused(t *testing.T) {
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	name := "it-collector-pause"
	testSink(t, p, c, name, "it_collector_pause", nil)
	scrapeUntil(t, c, 90*time.Second, `cdc_connect_task_state{connect_cluster="local",connector="`+name+`",state="RUNNING",task="0"} 1`)
	if err := c.Pause(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	scrapeUntil(t, c, 60*time.Second,
		`cdc_connect_connector_state{connect_cluster="local",connector="`+name+`",state="PAUSED"} 1`,
		`cdc_connect_task_state{connect_cluster="local",connector="`+name+`",state="PAUSED",task="0"} 1`)
}

func TestRealWorkerFailedSinkTaskShowsFailedWithItsID(t *testing.T) {
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	db := p.TargetDB(t)
	name, table := "it-collector-failing", "it_collector_failing"
	// A target table the records cannot go into: a NOT NULL column they
	// do not carry. With errors.tolerance=none the task must fail.
	if _, err := db.Exec(`DROP TABLE IF EXISTS ` + table + `; CREATE TABLE ` + table + ` (id int PRIMARY KEY, v text, required int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec(`DROP TABLE IF EXISTS ` + table) })
	testSink(t, p, c, name, table, map[string]string{"errors.tolerance": "none"})
	key := `{"schema":{"type":"struct","fields":[{"field":"id","type":"int32","optional":false}]},"payload":{"id":1}}`
	value := `{"schema":{"type":"struct","fields":[{"field":"id","type":"int32","optional":false},{"field":"v","type":"string","optional":true}]},"payload":{"id":1,"v":"x"}}`
	produce(t, p, name, [2]string{key, value})
	out := scrapeUntil(t, c, 120*time.Second,
		`cdc_connect_task_state{connect_cluster="local",connector="`+name+`",state="FAILED",task="0"} 1`)
	if !strings.Contains(out, `cdc_connect_task_info{connect_cluster="local",connector="`+name+`",task="0",worker="`) {
		t.Errorf("the failed task's worker is not reported:\n%s", grepLines(out, "cdc_connect_task_info"))
	}
}

// The worker goes away from the collector's side only: a proxy in front
// of the shared worker refuses connections and resets the open ones, as a
// stopped worker does, so other tests keep their worker meanwhile.
func TestRealWorkerStoppedShowsDownAndComesBack(t *testing.T) {
	p := testenv.Need(t)
	u, err := url.Parse(p.ConnectURL)
	if err != nil {
		t.Fatalf("CDC_CONNECT_URL %q: %v", p.ConnectURL, err)
	}
	worker := testenv.NewProxy(t, u.Host)
	c := connecttest.LocalAt(t, u.Scheme+"://"+worker.Addr())
	scrapeUntil(t, c, 60*time.Second, `cdc_connect_up{connect_cluster="local"} 1`)
	worker.Down()
	scrapeUntil(t, c, 10*time.Second, `cdc_connect_up{connect_cluster="local"} 0`)
	worker.Up()
	scrapeUntil(t, c, 120*time.Second, `cdc_connect_up{connect_cluster="local"} 1`,
		`cdc_connect_connector_state{connect_cluster="local",connector="demo-sink",state="RUNNING"} 1`)
}
