package reconcile

import (
	"context"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Repair signals name the table the way the source connector does:
// Debezium's SQL Server source ignores a snapshot of "dbo.orders", its
// data collections are database.schema.table.
func TestSignalDataCollectionFollowsTheSourceConnector(t *testing.T) {
	open := func(name, driver, dsn string) *database.DB {
		db, err := database.Open(t.Context(), config.Database{Name: name, Driver: driver, DSN: config.Secret(dsn)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbs := map[string]*database.DB{
		"erp":    open("erp", config.DriverSQLServer, "sqlserver://u:p@mssql:1433?database=ERP"),
		"pgsrc":  open("pgsrc", config.DriverPostgres, "postgres://u:p@pg/inventory"),
		"target": open("target", config.DriverPostgres, "postgres://u:p@pg/target"),
	}
	for _, tc := range []struct {
		db, table, configured, want string
	}{
		{"erp", "dbo.orders", "", "ERP.dbo.orders"},
		{"erp", "orders", "", "ERP.dbo.orders"},
		{"erp", "sales.orders", "", "ERP.sales.orders"},
		{"erp", "dbo.orders", "Other.dbo.orders", "Other.dbo.orders"},
		{"pgsrc", "inventory.customers", "", "inventory.customers"},
		{"pgsrc", "customers", "", "public.customers"},
	} {
		tbl := config.Table{Name: "t", Source: config.TableRef{Database: tc.db, Table: tc.table}, Target: config.TableRef{Database: "target", Table: "t"},
			Signal: &config.Signal{Connector: "src", Table: "dbo.debezium_signal", DataCollection: tc.configured}}
		got, err := TableFromConfig(tbl, dbs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.DataCollection != tc.want {
			t.Errorf("%s %s (configured %q): data collection %q, want %q", tc.db, tc.table, tc.configured, got.DataCollection, tc.want)
		}
	}
	// A DSN that names no database: a SQL Server source may read several
	// (database.names), so the data collection is unknown unless the
	// table or the configuration names it; never ".dbo.orders".
	dbs["nodb"] = open("nodb", config.DriverSQLServer, "sqlserver://u:p@mssql:1433")
	for _, tc := range []struct{ table, configured, want, err string }{
		{"dbo.orders", "", "", "names no database"},
		{"orders", "", "", "tables[].signal.data_collection"},
		{"ERP.dbo.orders", "", "ERP.dbo.orders", ""},
		{"dbo.orders", "ERP.dbo.orders", "ERP.dbo.orders", ""},
	} {
		tbl := config.Table{Name: "t", Source: config.TableRef{Database: "nodb", Table: tc.table}, Target: config.TableRef{Database: "target", Table: "t"},
			Signal: &config.Signal{Connector: "src", Table: "dbo.debezium_signal", DataCollection: tc.configured}}
		got, err := TableFromConfig(tbl, dbs, nil)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %q", tc.table, err, tc.err)
		case tc.err == "" && (err != nil || got.DataCollection != tc.want):
			t.Errorf("%s: %q, %v; want %q", tc.table, got.DataCollection, err, tc.want)
		}
	}
}

// A table without a primary key is keyed at the target by the source
// connector's message.key.columns: TimePath reads it with the rest of
// the connector's path.
func TestTimePathReadsTheMessageKey(t *testing.T) {
	src := func(context.Context, config.Table) (string, map[string]string, error) {
		return "src", map[string]string{"connector.class": connectorkind.ClassSQLServer, "database.names": "ERP",
			"message.key.columns": `ERP\.dbo\.lines:order_no,line;dbo\.other:id`}, nil
	}
	for table, want := range map[string]string{"dbo.lines": "order_no,line", "lines": "order_no,line", "ERP.dbo.lines": "order_no,line", "dbo.items": ""} {
		p, err := TimePath(config.Table{Name: "t", Source: config.TableRef{Database: "erp", Table: table}}, src)(context.Background())
		if err != nil || strings.Join(p.MessageKey, ",") != want {
			t.Errorf("%s: message key %v, %v; want %q", table, p.MessageKey, err, want)
		}
	}
}
