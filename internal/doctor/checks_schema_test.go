package doctor

import (
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
)

// A column a SQL Server capture instance lacks is fixed the way
// Debezium's documentation gives the online schema update: a second
// capture instance with the old columns and the new, then the old one
// disabled once the connector has moved.
func TestNotCapturedColumnGetsTheCaptureInstanceSwitch(t *testing.T) {
	db := database.NewWithPool(config.Database{Name: "erp", Driver: config.DriverSQLServer, QueryTimeout: time.Second}, nil)
	res := schemadrift.Result{CaptureInstance: "dbo_orders", CapturedColumns: []string{"id", "name"},
		Mismatches: []schemadrift.Mismatch{{Kind: schemadrift.NotCaptured, Column: "added"}}}
	fix := captureSwitch(db, "dbo.orders", res, "erp-source")
	for _, want := range []string{
		"EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'orders', @role_name = NULL, @capture_instance = N'dbo_orders_v2', @captured_column_list = N'[id], [name], [added]';",
		"wait until erp-source streams from it",
		"EXEC sys.sp_cdc_disable_table @source_schema = N'dbo', @source_name = N'orders', @capture_instance = N'dbo_orders';",
	} {
		if !strings.Contains(fix, want) {
			t.Errorf("fix %q lacks %q", fix, want)
		}
	}
	if strings.Index(fix, "sp_cdc_enable_table") > strings.Index(fix, "sp_cdc_disable_table") {
		t.Errorf("the old instance is disabled before the new one exists: %s", fix)
	}
	for in, want := range map[string]string{"dbo_orders": "dbo_orders_v2", "dbo_orders_v2": "dbo_orders_v3", "dbo_v_x": "dbo_v_x_v2", "dbo_orders_v09": "dbo_orders_v09_v2"} {
		if got := nextInstance(in); got != want {
			t.Errorf("nextInstance(%s) = %s, want %s", in, got, want)
		}
	}
}

// The schema check reads a table's topic through the source drift and the
// schema collector use (connectorkind.SourceConfig): the connector
// tables[].signal.connector names, even while an older source, listed
// first, captures the table too; without a signal, the first that
// captures it.
func TestSchemaCheckReadsThroughTheSourceTheTableNames(t *testing.T) {
	db := database.NewWithPool(config.Database{Name: "src", Driver: config.DriverPostgres, DSN: "postgres://u:p@pg:5432/app"}, nil)
	source := func(name string) *connector {
		return newConnector("c", conn(name, connect.TypeSource, map[string]string{"connector.class": connectorkind.ClassPostgres,
			"database.dbname": "app", "table.include.list": `public\.orders`, "topic.prefix": name}))
	}
	r := &run{d: &Doctor{Databases: map[string]*database.DB{"src": db}}, connectors: []*connector{source("orders-v1"), source("orders-v2")}}
	named := &config.Table{Name: "orders", Source: config.TableRef{Database: "src", Table: "public.orders"}, Signal: &config.Signal{Connector: "orders-v2"}}
	if c := r.sourceOf(named); c == nil || c.Name != "orders-v2" || c.TableTopic(db, "public.orders") != "orders-v2.public.orders" {
		t.Errorf("the schema is read through %v, want orders-v2, the table's signal connector", c)
	}
	unnamed := &config.Table{Name: "orders", Source: config.TableRef{Database: "src", Table: "public.orders"}}
	if c := r.sourceOf(unnamed); c == nil || c.Name != "orders-v1" {
		t.Errorf("without a signal the schema is read through %v, want orders-v1, the first capturing source", c)
	}
}
