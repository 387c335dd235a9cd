//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// env is what every phase of the suite shares.
type env struct {
	dir     string
	bin     string
	tp      *toxiproxy
	worker  *standIn
	mode    string // "pipeline" or "private"
	proxies map[string]string
	// upstream names what each proxy stands in front of, for the report.
	upstream map[string]string
	// storeDirect reaches the remediation store's database without a
	// proxy (the crash tests' replicas share it).
	storeDirect string
	// extraYAML are the sections that differ by mode (tables, kafka).
	extraYAML string
}

// The scrape timeout Prometheus announces in the suite; an answer must
// come within it.
const scrapeTimeout = 5 * time.Second

func setup(t *testing.T) *env {
	t.Helper()
	toxiBin := os.Getenv("TOXIPROXY_SERVER")
	if toxiBin == "" {
		cache := os.Getenv("CDC_SENTINEL_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "cdc-sentinel")
		}
		toxiBin = filepath.Join(cache, "bin", "toxiproxy-server")
	}
	if _, err := os.Stat(toxiBin); err != nil {
		t.Fatalf("toxiproxy-server not found at %s: run scripts/install-tools.sh toxiproxy (make reliability does)", toxiBin)
	}
	dir := t.TempDir()
	e := &env{dir: dir, bin: buildBinary(t, dir), tp: startToxiproxy(t, toxiBin), worker: startStandIn(t),
		proxies: map[string]string{}, upstream: map[string]string{}}

	if p, ok := testenv.Load(); ok && reachable(p.ConnectURL) && os.Getenv("RELIABILITY_PRIVATE") == "" {
		e.usePipeline(t, p)
	} else {
		e.usePrivate(t)
	}
	return e
}

func reachable(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// usePipeline puts the proxies in front of the shared pipeline's real
// Connect worker, PostgreSQL and Kafka. Only cdc-sentinel's own
// connections go through them: the pipeline's internal ones (Connect to
// Kafka and to PostgreSQL) are never faulted.
func (e *env) usePipeline(t *testing.T, p *testenv.Pipeline) {
	e.mode = "pipeline"
	cu, _ := url.Parse(p.ConnectURL)
	e.addProxy(t, "connect", "", cu.Host, "Kafka Connect worker (pipeline)")
	src, _ := url.Parse(p.SourceDSN)
	tgt, _ := url.Parse(p.TargetDSN)
	e.addProxy(t, "pg-source", "", src.Host, "PostgreSQL source (pipeline)")
	e.addProxy(t, "pg-target", "", tgt.Host, "PostgreSQL target (pipeline)")
	// The remediation store gets a database of its own, dropped after
	// the run: no earlier run's episodes or cooldowns carry over.
	store, err := url.Parse(testenv.TempDatabase(t, "cdc_reliability"))
	if err != nil {
		t.Fatal(err)
	}
	e.addProxy(t, "pg-store", "", store.Host, "PostgreSQL remediation store (pipeline server, a database of its own)")
	e.addKafkaProxy(t, p)
	through := func(dsn *url.URL, proxy string) string {
		c := *dsn
		c.Host = e.proxies[proxy]
		return c.String()
	}
	e.storeDirect = store.String()
	e.extraYAML = fmt.Sprintf(`databases:
  - {name: source, driver: postgres, dsn: %q, query_timeout: 3s, connectors: [%s]}
  - {name: target, driver: postgres, dsn: %q, query_timeout: 3s}
kafka:
  brokers: [%s]
tables:
  - name: customers
    source: {database: source, table: inventory.customers}
    target: {database: target, table: public.customers}
    source_timestamp_column: updated_at
  - name: orders
    source: {database: source, table: inventory.orders}
    target: {database: target, table: public.orders}
    key: [customer_id, order_no]
    source_timestamp_column: updated_at
`, through(src, "pg-source"), p.Env["CDC_SOURCE_CONNECTOR"], through(tgt, "pg-target"), e.proxies["kafka"])
	e.extraYAML += storeYAML(through(store, "pg-store"))
}

// addKafkaProxy puts a proxy at the address the pipeline's broker
// advertises for its fault-injection listener, forwarding to that
// listener. A proxy in front of the bootstrap address alone would see
// only the first connection: every later one goes to the address the
// metadata answer advertises, here the proxy itself.
func (e *env) addKafkaProxy(t *testing.T, p *testenv.Pipeline) {
	listener, advertised := p.Env["CDC_KAFKA_FAULTS_LISTENER"], p.Env["CDC_KAFKA_FAULTS_ADVERTISED"]
	if listener == "" || advertised == "" {
		t.Fatalf("the pipeline's Kafka has no fault-injection listener (CDC_KAFKA_FAULTS_LISTENER/ADVERTISED missing from %s/env): run scripts/pipeline/pipeline.sh up, which restarts the broker with it", p.Dir)
	}
	e.addProxy(t, "kafka", advertised, listener, "Kafka broker (pipeline, fault-injection listener advertised at the proxy)")
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.proxies["kafka"]))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		t.Fatalf("Kafka metadata through the proxy %s: %v", e.proxies["kafka"], err)
	}
	for _, b := range m.Brokers {
		if got := net.JoinHostPort(b.Host, fmt.Sprint(b.Port)); got != advertised {
			t.Fatalf("through the proxy, Kafka advertises broker %d at %s, not at the proxy %s: later connections would bypass the faults", b.NodeID, got, advertised)
		}
	}
}

// usePrivate starts a throwaway PostgreSQL and uses the stand-in worker
// when the shared pipeline is not up; there is no Kafka then.
func (e *env) usePrivate(t *testing.T) {
	e.mode = "private"
	pg := startPostgres(t)
	for _, db := range []string{"source", "target", "store"} {
		pg.psql(t, "postgres", "CREATE DATABASE "+db)
	}
	pg.psql(t, "source", "CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO orders (id, note) SELECT g, 'n' FROM generate_series(1, 1000) g")
	pg.psql(t, "target", "CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz, __source_ts_ms bigint); INSERT INTO orders SELECT g, 'n', now(), (extract(epoch from now()) * 1000)::bigint FROM generate_series(1, 1000) g")
	e.addProxy(t, "connect", "", e.worker.addr, "Kafka Connect worker (stand-in)")
	e.addProxy(t, "pg-source", "", pg.addr, "PostgreSQL source (private)")
	e.addProxy(t, "pg-target", "", pg.addr, "PostgreSQL target (private)")
	e.addProxy(t, "pg-store", "", pg.addr, "PostgreSQL remediation store (private)")
	e.storeDirect = pgDSN(pg.addr, "store")
	e.extraYAML = fmt.Sprintf(`databases:
  - {name: source, driver: postgres, dsn: %q, query_timeout: 3s}
  - {name: target, driver: postgres, dsn: %q, query_timeout: 3s}
tables:
  - name: orders
    source: {database: source, table: public.orders}
    target: {database: target, table: public.orders}
    source_timestamp_column: updated_at
`, pgDSN(e.proxies["pg-source"], "source"), pgDSN(e.proxies["pg-target"], "target"))
	e.extraYAML += storeYAML(pgDSN(e.proxies["pg-store"], "store"))
}

func storeYAML(dsn string) string {
	return fmt.Sprintf(`remediation:
  max_actions_per_hour: 100000
  verify_timeout: 3s
  store: {type: postgres, dsn: %q}
  rules:
    - name: probe
      match: ['alertname="ReliabilityProbe"']
      action: restart_task
      dry_run: true
      cooldown: 1h
      max_attempts: 1
`, dsn)
}

func (e *env) addProxy(t *testing.T, name, listen, upstream, what string) {
	e.proxies[name] = e.tp.proxy(t, name, listen, upstream)
	e.upstream[name] = what
}

// faultConfig is the configuration the fault, load and soak phases run:
// everything through the proxies.
func (e *env) faultConfig(t *testing.T) string {
	path := filepath.Join(e.dir, "faults.yml")
	writeFile(t, path, fmt.Sprintf(`connect_clusters:
  - {name: local, url: "http://%s", timeout: 3s}
`, e.proxies["connect"])+e.extraYAML)
	return path
}

// partSeries are the series that say whether each part is reachable.
func partSeries(mode string) map[string]func(scrape) (float64, bool) {
	m := map[string]func(scrape) (float64, bool){
		"connect": func(s scrape) (float64, bool) {
			return s.value("cdc_connect_up", map[string]string{"connect_cluster": "local"})
		},
		"pg-source": func(s scrape) (float64, bool) { return s.value("cdc_db_up", map[string]string{"database": "source"}) },
		"pg-target": func(s scrape) (float64, bool) { return s.value("cdc_db_up", map[string]string{"database": "target"}) },
	}
	if mode == "pipeline" {
		m["kafka"] = func(s scrape) (float64, bool) { return s.value("cdc_kafka_up", nil) }
	}
	return m
}

// TestReliability runs the whole suite in order and writes the report.
func TestReliability(t *testing.T) {
	e := setup(t)
	r := &report{mode: e.mode, upstream: e.upstream, started: time.Now()}
	t.Cleanup(func() { r.write(t) })
	t.Run("faults", func(t *testing.T) { runFaults(t, e, r) })
	t.Run("crash-bolt", func(t *testing.T) { runCrashBolt(t, e, r) })
	t.Run("crash-postgres-replicas", func(t *testing.T) { runCrashReplicas(t, e, r) })
	t.Run("load", func(t *testing.T) { runLoad(t, e, r) })
	t.Run("soak", func(t *testing.T) { runSoak(t, e, r) })
}
