package connectorkind

import (
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

func TestCapturesFollowsDebeziumFilters(t *testing.T) {
	cases := []struct {
		name         string
		class        string
		cfg          map[string]string
		db, sch, tbl string
		want         bool
	}{
		{"no filters captures everything", ClassPostgres, nil, "d", "inventory", "orders", true},
		{"system schemas never", ClassPostgres, nil, "d", "pg_catalog", "pg_class", false},
		{"include list is a regex, whole match", ClassPostgres, map[string]string{"table.include.list": `inventory\.ord.*`}, "d", "inventory", "orders", true},
		{"include list does not match a prefix", ClassPostgres, map[string]string{"table.include.list": `inventory\.ord`}, "d", "inventory", "orders", false},
		{"include list is case-insensitive", ClassPostgres, map[string]string{"table.include.list": `Inventory\.Orders`}, "d", "inventory", "orders", true},
		{"several entries", ClassPostgres, map[string]string{"table.include.list": `a\.b, inventory\.orders`}, "d", "inventory", "orders", true},
		{"exclude list", ClassPostgres, map[string]string{"table.exclude.list": `inventory\.orders`}, "d", "inventory", "orders", false},
		{"schema include list", ClassPostgres, map[string]string{"schema.include.list": "sales"}, "d", "inventory", "orders", false},
		{"schema exclude list", ClassPostgres, map[string]string{"schema.exclude.list": "inventory"}, "d", "inventory", "orders", false},
		{"SQL Server schema.table", ClassSQLServer, map[string]string{"table.include.list": `dbo\.orders`}, "shop", "dbo", "orders", true},
		{"SQL Server database.schema.table", ClassSQLServer, map[string]string{"table.include.list": `shop\.dbo\.orders`}, "shop", "dbo", "orders", true},
		{"SQL Server cdc schema never", ClassSQLServer, nil, "shop", "cdc", "dbo_orders_CT", false},
		{"Java lookahead is dropped, widening the pattern", ClassPostgres, map[string]string{"table.include.list": `inventory\.orders(?!_old)`}, "d", "inventory", "orders", true},
		{"other Java-only syntax compares text", ClassPostgres, map[string]string{"table.include.list": `inventory\.orders, x\.y++`}, "d", "inventory", "orders", true},
		{"other Java-only syntax does not match other tables", ClassPostgres, map[string]string{"table.include.list": `x\.y++`}, "d", "inventory", "orders", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]string{"connector.class": tc.class}
			for k, v := range tc.cfg {
				cfg[k] = v
			}
			c := New("", TypeSource, cfg)
			if got := c.Captures(tc.db, tc.sch, tc.tbl); got != tc.want {
				t.Errorf("captures(%s.%s) = %v, want %v", tc.sch, tc.tbl, got, tc.want)
			}
		})
	}
}

func TestTopicsAndSinks(t *testing.T) {
	pg := New("", "", map[string]string{"connector.class": ClassPostgres, "topic.prefix": "demo"})
	if got := pg.TopicFor("source", "inventory", "orders"); got != "demo.inventory.orders" {
		t.Errorf("postgres topic %q", got)
	}
	ms := New("", "", map[string]string{"connector.class": ClassSQLServer, "topic.prefix": "erp"})
	if got := ms.TopicFor("shop", "dbo", "orders"); got != "erp.shop.dbo.orders" {
		t.Errorf("sqlserver topic %q", got)
	}
	sink := New("", "", map[string]string{"topics.regex": `demo\.inventory\.(customers|orders)`})
	for topic, want := range map[string]bool{"demo.inventory.orders": true, "demo.inventory.orders2": false, "xdemo.inventory.orders": false} {
		if sink.Consumes(topic) != want {
			t.Errorf("consumes(%s) != %v", topic, want)
		}
	}
	list := New("", "", map[string]string{"topics": " a , b "})
	if !list.Consumes("b") || list.Consumes("c") {
		t.Error("topics list")
	}
	for url, want := range map[string]database.Endpoint{
		"jdbc:postgresql://pg:5433/wh?ssl=true":                 {Host: "pg", Port: "5433", Database: "wh"},
		"jdbc:postgresql://pg/wh":                               {Host: "pg", Port: "5432", Database: "wh"},
		"jdbc:sqlserver://ms:1444;databaseName=dw;encrypt=true": {Host: "ms", Port: "1444", Database: "dw"},
		"jdbc:sqlserver://ms;database=dw":                       {Host: "ms", Port: "1433", Database: "dw"},
	} {
		ep, _, ok := New("", "", map[string]string{"connection.url": url}).SinkEndpoint()
		if !ok || ep != want {
			t.Errorf("%s: %+v %v, want %+v", url, ep, ok, want)
		}
	}
	if _, _, ok := New("", "", map[string]string{"connection.url": "jdbc:oracle:thin:@x"}).SinkEndpoint(); ok {
		t.Error("oracle URL understood")
	}
}

func TestSourceMatchesDatabase(t *testing.T) {
	open := func(dc config.Database) *database.DB {
		db, err := database.Open(t.Context(), dc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	pg := open(config.Database{Name: "src", Driver: config.DriverPostgres, DSN: "postgres://u:p@localhost:55432/source"})
	ms := open(config.Database{Name: "shop", Driver: config.DriverSQLServer, DSN: "sqlserver://u:p@ms:1433?database=Shop"})
	named := open(config.Database{Name: "n", Driver: config.DriverPostgres, DSN: "postgres://u:p@h:5432/x", Connectors: []string{"mine"}})
	cases := []struct {
		name string
		c    *Connector
		db   *database.DB
		want bool
	}{
		{"same database and port, host alias ignored", New("a", "", map[string]string{"connector.class": ClassPostgres, "database.dbname": "source", "database.port": "55432", "database.hostname": "127.0.0.1"}), pg, true},
		{"other port", New("a", "", map[string]string{"connector.class": ClassPostgres, "database.dbname": "source"}), pg, false},
		{"other database", New("a", "", map[string]string{"connector.class": ClassPostgres, "database.dbname": "target", "database.port": "55432"}), pg, false},
		{"SQL Server database.names, case-insensitive", New("a", "", map[string]string{"connector.class": ClassSQLServer, "database.names": "crm,shop"}), ms, true},
		{"driver must agree", New("a", "", map[string]string{"connector.class": ClassSQLServer, "database.names": "source", "database.port": "55432"}), pg, false},
		{"explicit connectors list wins", New("mine", "", map[string]string{"connector.class": ClassPostgres, "database.dbname": "other"}), named, true},
		{"explicit list excludes others", New("theirs", "", map[string]string{"connector.class": ClassPostgres, "database.dbname": "x", "database.port": "5432"}), named, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.ReadsFrom(tc.db); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLiteralTables(t *testing.T) {
	c := New("", "", map[string]string{"table.include.list": `inventory\.orders, inventory.customers, inventory\.ord.*, dbo.x$`})
	got := c.LiteralTables()
	want := []string{"inventory.orders", "inventory.customers"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("literalTables = %v, want %v", got, want)
	}
}
