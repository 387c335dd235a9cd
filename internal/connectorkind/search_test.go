package connectorkind

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// modeOf reads the time.precision.mode of the source src finds for tc,
// as the time path does: "" when none is found.
func modeOf(tc config.Table, src func(context.Context, config.Table) (string, map[string]string, error)) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		name, c, err := src(ctx, tc)
		if err != nil || name == "" {
			return "", err
		}
		return New(name, TypeSource, c).Get("time.precision.mode", sqldialect.ModeAdaptive), nil
	}
}

// sqlServerShop is a configured SQL Server database "shop" (never
// dialled: pools connect lazily).
func sqlServerShop(t *testing.T) map[string]*database.DB {
	return map[string]*database.DB{"erp": openDB(t, "erp", config.DriverSQLServer, "sqlserver://u:p@127.0.0.1:1433?database=shop")}
}

// sqlServerSource adds a SQL Server source of the shop database
// capturing the tables include lists, in precision mode (Debezium's
// default when "").
func sqlServerSource(f *connecttest.Fake, name, include, mode string) {
	c := f.Add(name, ClassSQLServer, connect.StateRunning, 1)
	c.Status.Type = "source"
	c.Config["database.names"] = "shop"
	c.Config["table.include.list"] = include
	if mode != "" {
		c.Config["time.precision.mode"] = mode
	}
}

// A table whose signal names no connector still gets the precision its
// real source lets through (the time path reads the mode found here):
// the Debezium source capturing it is found on the clusters, so a SQL
// Server source in connect mode (milliseconds) does not make every
// datetime2 row look changed.
func TestTheSourceCapturingATableIsFoundOnTheClusters(t *testing.T) {
	f, client := connecttest.New(t)
	sqlServerSource(f, "billing-source", `dbo\.invoices`, "adaptive")
	sqlServerSource(f, "shop-source", `dbo\.orders,dbo\.customers`, "connect")
	cfg := &config.Config{ConnectClusters: []config.ConnectCluster{{Name: "fake"}}}
	clusters := map[string]*connect.Client{"fake": client}
	tc := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"}}

	mode := modeOf(tc, SourceConfig(cfg, sqlServerShop(t), clusters))
	p, err := mode(context.Background())
	if err != nil || p != "connect" {
		t.Fatalf("mode %q, %v: want the connect mode of shop-source", p, err)
	}
	// Found once; later samples read only that connector's config.
	lists := len(f.Requests("GET /connectors?"))
	if _, err := mode(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(f.Requests("GET /connectors?")); got != lists {
		t.Errorf("listed the connectors again (%d listings)", got)
	}

	// The remembered connector is gone: look again.
	f.Lock()
	f.Conn["shop-source"].Deleted = true
	f.Unlock()
	sqlServerSource(f, "shop-source-v2", `dbo\.orders`, "adaptive_time_microseconds")
	if p, err = mode(context.Background()); err != nil || p != "adaptive_time_microseconds" {
		t.Fatalf("after the source was replaced: %q, %v", p, err)
	}

	// No source captures the table: Debezium's default is assumed.
	other := config.Table{Name: "audit", Source: config.TableRef{Database: "erp", Table: "dbo.audit_log"}}
	if p, err = modeOf(other, SourceConfig(cfg, sqlServerShop(t), clusters))(context.Background()); err != nil || p != "" {
		t.Fatalf("uncaptured table: %q, %v", p, err)
	}
}

// Two sources capture the table with different modes: which one wrote
// the target cannot be guessed, so the user is asked to name it.
func TestTwoSourcesThatDisagreeOnPrecisionMustBeNamed(t *testing.T) {
	f, client := connecttest.New(t)
	sqlServerSource(f, "a-source", `dbo\.orders`, "connect")
	sqlServerSource(f, "b-source", `dbo\..*`, "")
	cfg := &config.Config{ConnectClusters: []config.ConnectCluster{{Name: "fake"}}}
	tc := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"}}
	_, err := modeOf(tc, SourceConfig(cfg, sqlServerShop(t), map[string]*connect.Client{"fake": client}))(context.Background())
	if err == nil || !strings.Contains(err.Error(), "table orders is captured by fake/a-source, fake/b-source with different time.precision.mode settings: name its source in tables[].signal.connector") {
		t.Fatalf("got %v", err)
	}

	// Named, it is read directly, whatever else captures the table.
	tc.Signal = &config.Signal{Connector: "b-source"}
	p, err := modeOf(tc, SourceConfig(cfg, sqlServerShop(t), map[string]*connect.Client{"fake": client}))(context.Background())
	if err != nil || p != "adaptive" {
		t.Fatalf("named source: %q, %v", p, err)
	}
}

// Connect being down must not take the drift series of a table that names
// no connector with it: the last mode seen is kept (Debezium's default
// before any was), and Connect is not asked again for a while.
func TestASourceSearchThatFailsKeepsWhatWasKnown(t *testing.T) {
	f, client := connecttest.New(t)
	sqlServerSource(f, "shop-source", `dbo\.orders`, "connect")
	cfg := &config.Config{ConnectClusters: []config.ConnectCluster{{Name: "fake"}}}
	tc := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"}}
	now := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	finder := &sourceFinder{cfg: cfg, dbs: sqlServerShop(t), clusters: map[string]*connect.Client{"fake": client},
		found: map[string]foundSource{}, now: func() time.Time { return now }}
	mode := modeOf(tc, finder.config)

	f.Lock()
	f.Fail["/connectors"] = true
	f.Unlock()
	if p, err := mode(context.Background()); err != nil || p != "" {
		t.Fatalf("Connect down before anything was known: %q, %v", p, err)
	}
	asked := len(f.Requests(""))
	now = now.Add(retrySearchAfter / 2)
	if _, err := mode(context.Background()); err != nil || len(f.Requests("")) != asked {
		t.Fatalf("asked Connect again %d times within the pause (%v)", len(f.Requests(""))-asked, err)
	}

	f.Lock()
	f.Fail["/connectors"] = false
	f.Unlock()
	now = now.Add(retrySearchAfter)
	if p, err := mode(context.Background()); err != nil || p != "connect" {
		t.Fatalf("Connect back: %q, %v", p, err)
	}

	f.Lock()
	f.Fail["/connectors/shop-source/config"] = true
	f.Unlock()
	if p, err := mode(context.Background()); err != nil || p != "connect" {
		t.Fatalf("the source's config unreadable: %q, %v; want the mode last seen", p, err)
	}
}

// A table that names its connector keeps the configuration last read
// from it while Connect cannot answer, and does not ask again for a
// while; one never read is an error naming the connector.
func TestANamedSourceKeepsItsLastConfigurationWhileConnectIsDown(t *testing.T) {
	f, client := connecttest.New(t)
	sqlServerSource(f, "shop-source", `dbo\.orders`, "connect")
	cfg := &config.Config{ConnectClusters: []config.ConnectCluster{{Name: "fake"}}}
	tc := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"},
		Signal: &config.Signal{Connector: "shop-source"}}
	now := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	newFinder := func() *sourceFinder {
		return &sourceFinder{cfg: cfg, dbs: sqlServerShop(t), clusters: map[string]*connect.Client{"fake": client},
			found: map[string]foundSource{}, now: func() time.Time { return now }}
	}
	finder := newFinder()
	mode := modeOf(tc, finder.config)
	if p, err := mode(context.Background()); err != nil || p != "connect" {
		t.Fatalf("Connect up: %q, %v", p, err)
	}

	f.Lock()
	f.Fail["/connectors/shop-source/config"] = true
	f.Unlock()
	if p, err := mode(context.Background()); err != nil || p != "connect" {
		t.Fatalf("Connect down after a read: %q, %v; want the mode last read", p, err)
	}
	asked := len(f.Requests(""))
	now = now.Add(retrySearchAfter / 2)
	if _, err := mode(context.Background()); err != nil || len(f.Requests("")) != asked {
		t.Fatalf("asked Connect again %d times within the pause (%v)", len(f.Requests(""))-asked, err)
	}

	if _, err := modeOf(tc, newFinder().config)(context.Background()); err == nil || !strings.Contains(err.Error(), "source connector shop-source") {
		t.Fatalf("never read, Connect down: %v", err)
	}
}

// A table naming its source connector where no Connect cluster is
// configured at all: the error says where the settings come from and
// what is missing, not an empty cluster name.
func TestANamedSourceWithoutAnyConnectClusterSaysSo(t *testing.T) {
	tc := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"},
		Signal: &config.Signal{Connector: "shop-source"}}
	finder := &sourceFinder{cfg: &config.Config{}, dbs: sqlServerShop(t), clusters: map[string]*connect.Client{},
		found: map[string]foundSource{}, now: time.Now}
	_, _, err := finder.config(context.Background(), tc)
	want := "source connector shop-source: its settings are read from Kafka Connect, and no connect_clusters are configured"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// Every source whose filters select the table is found, in the order
// given; a sink, a source of another database and a table whose source
// database is not configured find none.
func TestCapturingFindsEverySourceOfTheTable(t *testing.T) {
	source := func(name, include string) *Connector {
		return New(name, TypeSource, map[string]string{"connector.class": ClassSQLServer, "database.names": "shop", "table.include.list": include})
	}
	conns := []*Connector{
		source("billing-source", `dbo\.invoices`),
		source("shop-source", `dbo\.orders`),
		New("orders-sink", TypeSink, map[string]string{"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "topics": "shop.dbo.orders"}),
		New("other-db-source", TypeSource, map[string]string{"connector.class": ClassSQLServer, "database.names": "warehouse", "table.include.list": `dbo\.orders`}),
		source("shop-source-v2", `dbo\..*`),
	}
	dbs := sqlServerShop(t)
	orders := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"}}
	var names []string
	for _, c := range Capturing(dbs, orders, conns) {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ", "); got != "shop-source, shop-source-v2" {
		t.Errorf("capturing dbo.orders: %s, want shop-source, shop-source-v2", got)
	}
	unconfigured := config.Table{Name: "orders", Source: config.TableRef{Database: "nowhere", Table: "dbo.orders"}}
	if got := Capturing(dbs, unconfigured, conns); len(got) != 0 {
		t.Errorf("a table of an unconfigured database is captured by %d connectors", len(got))
	}
}
