package collector

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fakeCluster struct {
	name  string
	conns []connect.Connector
	err   error
	delay time.Duration
}

func (f *fakeCluster) Name() string { return f.name }

func (f *fakeCluster) Connectors(ctx context.Context) ([]connect.Connector, error) {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.conns, f.err
}

func conn(name, typ, class, state string, tasks ...connect.TaskInfo) connect.Connector {
	return connect.Connector{
		Status: connect.Status{Name: name, Type: typ, Connector: connect.Instance{State: state, WorkerID: "w1:8083"}, Tasks: tasks},
		Info:   connect.Info{Name: name, Type: typ, Config: map[string]string{"connector.class": class}},
	}
}

func demoCluster() *fakeCluster {
	return &fakeCluster{name: "prod", conns: []connect.Connector{
		conn("inventory-sink", "sink", "io.debezium.connector.jdbc.JdbcSinkConnector", "RUNNING",
			connect.TaskInfo{ID: 0, State: "RUNNING", WorkerID: "w1:8083"},
			connect.TaskInfo{ID: 1, State: "FAILED", WorkerID: "w2:8083", Trace: "org.apache.kafka.connect.errors.ConnectException"}),
		conn("inventory-source", "source", "io.debezium.connector.sqlserver.SqlServerConnector", "PAUSED",
			connect.TaskInfo{ID: 0, State: "PAUSED", WorkerID: "w2:8083"}),
		conn("archived", "sink", "io.debezium.connector.jdbc.JdbcSinkConnector", "STOPPED"),
	}}
}

// collect runs collectors through an Exporter, as a scrape does, and
// returns the exposition text without the per-collector duration (which
// varies from run to run).
func collect(t *testing.T, ctx context.Context, cs ...Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewExporter(ctx, slog.New(slog.DiscardHandler), cs...))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if strings.HasSuffix(mf.GetName(), "duration_seconds") {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

// direct runs one collector to completion, without the exporter's
// abandonment at the deadline, so a test of what a collector reports when
// its context ends does not race the exporter's own cut-off.
type direct struct {
	ctx context.Context
	c   Collector
}

func (direct) Describe(chan<- *prometheus.Desc) {}
func (d direct) Collect(ch chan<- prometheus.Metric) {
	_ = d.c.Collect(d.ctx, ch)
}

func collectDirect(t *testing.T, ctx context.Context, c Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(direct{ctx: ctx, c: c})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

func TestConnectCollectorReportsEveryConnectorAndTaskState(t *testing.T) {
	got := collect(t, context.Background(), NewConnectCollector(demoCluster()))
	golden := "testdata/connect.prom"
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("metrics differ from %s (run with -update to accept):\n%s", golden, got)
	}
}

func TestConnectGoldenPassesPromtoolCheckMetrics(t *testing.T) {
	tool := testenv.Promtool(t)
	f, err := os.Open("testdata/connect.prom")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestStateSetHasSixSeriesWithOneSet(t *testing.T) {
	c := NewConnectCollector(demoCluster())
	expected := `
# HELP cdc_connect_task_state State of a connector task: 1 for its current state, 0 for the others.
# TYPE cdc_connect_task_state gauge
cdc_connect_task_state{connect_cluster="prod",connector="inventory-sink",state="FAILED",task="1"} 1
cdc_connect_task_state{connect_cluster="prod",connector="inventory-sink",state="PAUSED",task="1"} 0
cdc_connect_task_state{connect_cluster="prod",connector="inventory-sink",state="RESTARTING",task="1"} 0
cdc_connect_task_state{connect_cluster="prod",connector="inventory-sink",state="RUNNING",task="1"} 0
cdc_connect_task_state{connect_cluster="prod",connector="inventory-sink",state="STOPPED",task="1"} 0
cdc_connect_task_state{connect_cluster="prod",connector="inventory-sink",state="UNASSIGNED",task="1"} 0
`
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewExporter(context.Background(), slog.New(slog.DiscardHandler), c))
	// Filter to one task so the expectation stays readable.
	mfs, _ := reg.Gather()
	var buf bytes.Buffer
	for _, mf := range mfs {
		if mf.GetName() != "cdc_connect_task_state" {
			continue
		}
		var keep []*dto.Metric
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "task" && l.GetValue() == "1" {
					keep = append(keep, m)
				}
			}
		}
		mf.Metric = keep
		expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain)).Encode(mf)
	}
	if strings.TrimSpace(buf.String()) != strings.TrimSpace(expected) {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), expected)
	}
}

func TestDeadClusterReportsDownWithoutBlankingOthers(t *testing.T) {
	dead := &fakeCluster{name: "dr", err: errors.New("connection refused")}
	c := NewConnectCollector(demoCluster(), dead)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewExporter(context.Background(), slog.New(slog.DiscardHandler), c))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP cdc_connect_up Whether the Kafka Connect cluster's REST API answered the listing of connectors in this scrape.
# TYPE cdc_connect_up gauge
cdc_connect_up{connect_cluster="dr"} 0
cdc_connect_up{connect_cluster="prod"} 1
# HELP cdc_scrape_collector_success Whether a collector succeeded in this scrape.
# TYPE cdc_scrape_collector_success gauge
cdc_scrape_collector_success{collector="connect"} 0
`), "cdc_connect_up", "cdc_scrape_collector_success"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(NewExporter(context.Background(), slog.New(slog.DiscardHandler), c), "cdc_connect_connector_state"); n != 18 {
		t.Errorf("%d connector state series, want 18 (3 connectors × 6 states) from the live cluster", n)
	}
}

func TestSlowClusterIsCutAtTheDeadlineAndOthersStillReport(t *testing.T) {
	slow := &fakeCluster{name: "slow", delay: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	out := collectDirect(t, ctx, NewConnectCollector(demoCluster(), slow))
	if time.Since(start) > 5*time.Second {
		t.Fatal("scrape waited for the slow cluster")
	}
	for _, want := range []string{`cdc_connect_up{connect_cluster="slow"} 0`, `cdc_connect_up{connect_cluster="prod"} 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}

// hangingCollector ignores its context entirely: it returns only when
// the test releases it.
type hangingCollector struct{ release chan struct{} }

func (hangingCollector) Name() string { return "hanging" }
func (h hangingCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	<-h.release
	return fmt.Errorf("too late")
}

func TestCollectorIgnoringItsContextIsAbandoned(t *testing.T) {
	// The budget is generous for the well-behaved collector (a loaded
	// machine must not fail it); the hanging one sleeps past it anyway.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	// Returning at all shows the scrape did not wait: the hanging
	// collector returns only after the test.
	out := collect(t, ctx, hangingCollector{release: release}, NewConnectCollector(demoCluster()))
	if !strings.Contains(out, `cdc_scrape_collector_success{collector="hanging"} 0`) || !strings.Contains(out, `cdc_scrape_collector_success{collector="connect"} 1`) {
		t.Errorf("unexpected:\n%s", out)
	}
}

type countingCluster struct {
	*fakeCluster
	calls int
	mu    sync.Mutex
}

func (c *countingCluster) Connectors(ctx context.Context) ([]connect.Connector, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.fakeCluster.Connectors(ctx)
}

// listingUser stands for any other collector that needs the listing.
type listingUser struct {
	name string
	cl   ConnectLister
}

func (l listingUser) Name() string { return l.name }
func (l listingUser) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	_, err := Connectors(ctx, l.cl)
	return err
}

func TestOneListingPerClusterPerScrapeWhoeverAsks(t *testing.T) {
	cl := &countingCluster{fakeCluster: demoCluster()}
	collect(t, context.Background(), NewConnectCollector(cl), listingUser{"dlq", cl}, listingUser{"offsets", cl})
	if cl.calls != 1 {
		t.Errorf("%d listings in one scrape, want 1", cl.calls)
	}
	collect(t, context.Background(), NewConnectCollector(cl))
	if cl.calls != 2 {
		t.Errorf("the next scrape must list again; %d listings", cl.calls)
	}
}

type panickingCollector struct{}

func (panickingCollector) Name() string { return "panicking" }
func (panickingCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	panic("bug")
}

func TestPanickingCollectorFailsOnlyItself(t *testing.T) {
	out := collect(t, context.Background(), panickingCollector{}, NewConnectCollector(demoCluster()))
	for _, want := range []string{`cdc_scrape_collector_success{collector="panicking"} 0`, `cdc_connect_up{connect_cluster="prod"} 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}
