package wiring

import (
	"context"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Whether a table's pipeline keeps deleted rows is read live: the
// source's skipped.operations, then the sink writing the table's topic
// to the target; another table's sink does not count.
func TestRetainedHistoryIsReadFromTheLiveConnectors(t *testing.T) {
	f, client := connecttest.New(t)
	sqlServerSource(f, "shop-source", `dbo\.orders`, "")
	f.Conn["shop-source"].Config["topic.prefix"] = "erp"
	warehouseSink(f, "other-sink", "erp.shop.dbo.items")
	warehouseSink(f, "orders-sink", "erp.shop.dbo.orders").Config["delete.enabled"] = "true"
	dbs := shopAndWarehouse(t)
	cfg := &config.Config{ConnectClusters: []config.ConnectCluster{{Name: "fake"}}}
	clusters := map[string]*connect.Client{"fake": client}
	tc := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"}, Target: config.TableRef{Database: "wh", Table: "public.orders"}}
	retained := Retained(cfg, tc, dbs, clusters, connectorkind.SourceConfig(cfg, dbs, clusters))
	ctx := context.Background()
	if why, err := retained(ctx); err != nil || why != "" {
		t.Fatalf("deletes propagated: %q, %v", why, err)
	}
	f.Lock()
	f.Conn["orders-sink"].Config["delete.enabled"] = "false"
	f.Unlock()
	if why, _ := retained(ctx); !strings.Contains(why, "sink connector orders-sink does not apply deletes") {
		t.Errorf("sink keeping deletes: %q", why)
	}
	f.Lock()
	f.Conn["shop-source"].Config["skipped.operations"] = "d"
	f.Unlock()
	if why, _ := retained(ctx); !strings.Contains(why, "source connector shop-source has d in skipped.operations") {
		t.Errorf("source skipping deletes: %q", why)
	}
}

// warehouseSink adds a Confluent JDBC sink of topic writing to the
// warehouse database of shopAndWarehouse.
func warehouseSink(f *connecttest.Fake, name, topic string) *connecttest.Connector {
	c := f.Add(name, connectorkind.ClassConfluentJDBC, connect.StateRunning, 1)
	c.Status.Type = "sink"
	c.Config["topics"] = topic
	c.Config["connection.url"] = "jdbc:postgresql://127.0.0.1:5432/wh"
	return c
}

// shopAndWarehouse are the SQL Server shop (erp) and a PostgreSQL
// warehouse (wh) its sinks write to.
func shopAndWarehouse(t *testing.T) map[string]*database.DB {
	t.Helper()
	dbs := sqlServerShop(t)
	wh, err := database.Open(context.Background(), config.Database{Name: "wh", Driver: config.DriverPostgres, DSN: "postgres://u:p@127.0.0.1:5432/wh"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	dbs["wh"] = wh
	return dbs
}

// sqlServerShop is a configured SQL Server database "shop" (never
// dialled: pools connect lazily).
func sqlServerShop(t *testing.T) map[string]*database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), config.Database{Name: "erp", Driver: config.DriverSQLServer,
		DSN: "sqlserver://u:p@127.0.0.1:1433?database=shop"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return map[string]*database.DB{"erp": db}
}

func sqlServerSource(f *connecttest.Fake, name, include, mode string) {
	c := f.Add(name, connectorkind.ClassSQLServer, connect.StateRunning, 1)
	c.Status.Type = "source"
	c.Config["database.names"] = "shop"
	c.Config["table.include.list"] = include
	if mode != "" {
		c.Config["time.precision.mode"] = mode
	}
}
