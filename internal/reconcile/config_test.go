package reconcile

import (
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
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
}
