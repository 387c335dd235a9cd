package wiring

import (
	"context"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// The sink writing a table's topic to its target database, read live:
// one in another zone than UTC names the zone, itself and its setting;
// a sink of another topic, or one in UTC, does not count.
func TestSinkTimeZoneOfTheTable(t *testing.T) {
	f, client := connecttest.New(t)
	sqlServerSource(f, "shop-source", `dbo\.orders`, "")
	f.Conn["shop-source"].Config["topic.prefix"] = "erp"
	warehouseSink(f, "other-sink", "erp.shop.dbo.items").Config["db.timezone"] = "Asia/Tokyo"
	warehouseSink(f, "orders-sink", "erp.shop.dbo.orders")
	dbs := shopAndWarehouse(t)
	cfg := &config.Config{ConnectClusters: []config.ConnectCluster{{Name: "fake"}}}
	clusters := map[string]*connect.Client{"fake": client}
	tc := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"}, Target: config.TableRef{Database: "wh", Table: "public.orders"}}

	zone := SinkTimeZone(cfg, tc, dbs, clusters, connectorkind.SourceConfig(cfg, dbs, clusters))
	if z, from, err := zone(context.Background()); err != nil || z != "" || from != "" {
		t.Fatalf("UTC sink: zone %q from %q, %v", z, from, err)
	}
	f.Lock()
	f.Conn["orders-sink"].Config["db.timezone"] = "Europe/Paris"
	f.Unlock()
	z, from, err := zone(context.Background())
	if err != nil || z != "Europe/Paris" || from != "orders-sink, db.timezone" {
		t.Fatalf("zone %q from %q, %v: want Europe/Paris from orders-sink, db.timezone", z, from, err)
	}
}
