package connectorkind

import (
	"context"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

func openDB(t *testing.T, name, driver, dsn string, connectors ...string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), config.Database{Name: name, Driver: driver, DSN: config.Secret(dsn), Connectors: connectors})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestKinds(t *testing.T) {
	for _, tc := range []struct {
		class  string
		kind   Kind
		driver string
		source bool
		sink   bool
		flat   bool
		port   string
	}{
		{ClassSQLServer, DebeziumSQLServer, config.DriverSQLServer, true, false, false, "1433"},
		{ClassPostgres, DebeziumPostgres, config.DriverPostgres, true, false, false, "5432"},
		{ClassMySQL, DebeziumMySQL, "", true, false, false, "3306"},
		{ClassOracle, DebeziumOracle, "", true, false, false, "1528"},
		{ClassDb2, DebeziumDb2, "", true, false, false, "50000"},
		{ClassDebeziumJDBC, DebeziumJDBCSink, "", false, true, false, ""},
		{ClassConfluentJDBC, ConfluentJDBCSink, "", false, true, true, ""},
		{ClassAivenJDBC, AivenJDBCSink, "", false, true, true, ""},
		{" " + ClassConfluentJDBC + " ", ConfluentJDBCSink, "", false, true, true, ""},
		{"com.example.Other", Unknown, "", false, false, false, ""},
	} {
		k := Of(tc.class)
		if k != tc.kind || k.Driver() != tc.driver || k.IsSource() != tc.source || k.IsJDBCSink() != tc.sink || k.FlatRecords() != tc.flat || k.DefaultPort() != tc.port {
			t.Errorf("Of(%q) = %v driver %q source %v sink %v flat %v port %q", tc.class, k, k.Driver(), k.IsSource(), k.IsJDBCSink(), k.FlatRecords(), k.DefaultPort())
		}
	}
}

func TestDatabaseNamesAndPort(t *testing.T) {
	for _, tc := range []struct {
		cfg   map[string]string
		names string
		port  string
	}{
		{map[string]string{KeyClass: ClassSQLServer, "database.names": "erp, crm"}, "erp,crm", "1433"},
		// Debezium 1 spelled it database.dbname.
		{map[string]string{KeyClass: ClassSQLServer, "database.dbname": "erp", "database.port": "14330"}, "erp", "14330"},
		{map[string]string{KeyClass: ClassSQLServer, "database.names": "erp", "database.dbname": "old"}, "erp", "1433"},
		{map[string]string{KeyClass: ClassPostgres, "database.dbname": "inventory", "database.names": "ignored"}, "inventory", "5432"},
		{map[string]string{KeyClass: ClassMySQL, "database.dbname": "x"}, "", "3306"},
	} {
		c := New("c", TypeSource, tc.cfg)
		if got := strings.Join(c.DatabaseNames(), ","); got != tc.names || c.Port() != tc.port {
			t.Errorf("%v: names %q port %q, want %q %q", tc.cfg, got, c.Port(), tc.names, tc.port)
		}
	}
}

func TestReadsFrom(t *testing.T) {
	sqlserver := New("erp-source", TypeSource, map[string]string{KeyClass: ClassSQLServer, "database.names": "ERP"})
	postgres := New("inv-source", TypeSource, map[string]string{KeyClass: ClassPostgres, "database.dbname": "inventory", "database.port": "5433"})
	erp := openDB(t, "erp", config.DriverSQLServer, "sqlserver://u:p@db.internal?database=erp")
	erpOtherPort := openDB(t, "erp2", config.DriverSQLServer, "sqlserver://u:p@db.internal:1533?database=erp")
	inv := openDB(t, "inv", config.DriverPostgres, "postgres://u:p@localhost:5433/inventory")
	invCase := openDB(t, "inv-case", config.DriverPostgres, "postgres://u:p@localhost:5433/Inventory")
	invDefaultPort := openDB(t, "inv-5432", config.DriverPostgres, "postgres://u:p@localhost/inventory")
	listed := openDB(t, "listed", config.DriverPostgres, "postgres://u:p@elsewhere/other", "erp-source")
	listedOther := openDB(t, "listed-other", config.DriverSQLServer, "sqlserver://u:p@db.internal?database=erp", "someone-else")

	for _, tc := range []struct {
		c    *Connector
		db   *database.DB
		want bool
	}{
		{sqlserver, erp, true}, // SQL Server names are case-insensitive; 1433 by default on both sides
		{sqlserver, erpOtherPort, false},
		{sqlserver, inv, false},
		{sqlserver, listed, true}, // a database's connectors list decides alone
		{sqlserver, listedOther, false},
		{postgres, inv, true},
		{postgres, invCase, false}, // PostgreSQL database names keep their case
		{postgres, invDefaultPort, false},
	} {
		if got := tc.c.ReadsFrom(tc.db); got != tc.want {
			t.Errorf("%s reads from %s = %v, want %v", tc.c.Name, tc.db.Name(), got, tc.want)
		}
	}
	// Listing the connector on one database makes the inferred matches
	// drop out.
	got := sqlserver.DatabasesOf([]*database.DB{erp, listed})
	if len(got) != 1 || got[0] != listed {
		t.Errorf("DatabasesOf = %v, want only the database that lists the connector", got)
	}
	if got := sqlserver.DatabasesOf([]*database.DB{erp, erpOtherPort}); len(got) != 1 || got[0] != erp {
		t.Errorf("DatabasesOf by DSN = %v", got)
	}
}

func TestCapturesAndTopics(t *testing.T) {
	c := New("erp-source", TypeSource, map[string]string{
		KeyClass: ClassSQLServer, "database.names": "erp", KeyTopicPrefix: "srv",
		"table.include.list": `dbo\.orders,erp\.sales\.(?!tmp_).*`,
	})
	for _, tc := range []struct {
		schema, table string
		want          bool
	}{
		{"dbo", "orders", true},
		{"DBO", "Orders", true},
		{"sales", "lines", true},
		{"sales", "tmp_x", true}, // lookahead dropped: wider, never narrower
		{"dbo", "customers", false},
		{"cdc", "dbo_orders_CT", false},
	} {
		if got := c.Captures("erp", tc.schema, tc.table); got != tc.want {
			t.Errorf("Captures(erp, %s, %s) = %v, want %v", tc.schema, tc.table, got, tc.want)
		}
	}
	if got := c.TopicFor("erp", "dbo", "orders"); got != "srv.erp.dbo.orders" {
		t.Errorf("SQL Server topic %q", got)
	}
	pg := New("p", TypeSource, map[string]string{KeyClass: ClassPostgres, "database.server.name": "legacy"})
	if got := pg.TopicFor("inventory", "public", "orders"); got != "legacy.public.orders" {
		t.Errorf("PostgreSQL topic %q", got)
	}
	if got := strings.Join(c.LiteralTables(), ","); got != "dbo.orders" {
		t.Errorf("LiteralTables = %q", got)
	}
}

func TestDataCollections(t *testing.T) {
	for _, tc := range []struct {
		kind        Kind
		db, table   string
		want        string
		parsedOK    bool
		parsedTable string
	}{
		{DebeziumSQLServer, "erp", "orders", "erp.dbo.orders", true, "orders"},
		{DebeziumSQLServer, "erp", "sales.orders", "erp.sales.orders", true, "orders"},
		{DebeziumSQLServer, "erp", "other.sales.orders", "other.sales.orders", true, "orders"},
		{DebeziumPostgres, "inventory", "orders", "public.orders", true, "orders"},
		{DebeziumPostgres, "inventory", "inv.orders", "inv.orders", true, "orders"},
		{DebeziumMySQL, "shop", "orders", "shop.orders", true, "orders"},
	} {
		got := tc.kind.DataCollection(tc.db, tc.table)
		if got != tc.want {
			t.Errorf("%v.DataCollection(%s, %s) = %q, want %q", tc.kind, tc.db, tc.table, got, tc.want)
		}
		_, _, table, ok := tc.kind.ParseDataCollection(got)
		if ok != tc.parsedOK || table != tc.parsedTable {
			t.Errorf("%v.ParseDataCollection(%q) = %q, %v", tc.kind, got, table, ok)
		}
	}
	// A SQL Server data collection without its database is not one the
	// connector knows.
	if _, _, _, ok := DebeziumSQLServer.ParseDataCollection("dbo.orders"); ok {
		t.Error("dbo.orders parsed as a SQL Server data collection")
	}
}

func TestSinkSettings(t *testing.T) {
	confluent := New("s", "", map[string]string{KeyClass: ClassConfluentJDBC, KeyTopicsRegex: `srv\.erp\.dbo\..*`, "pk.mode": "record_key", "table.name.format": "replica_${topic}", "auto.evolve": "true", KeyConnectionURL: "jdbc:postgresql://pg:5432/target"})
	debezium := New("d", "", map[string]string{KeyClass: ClassDebeziumJDBC, KeyTopics: "srv.public.orders, srv.public.lines", "primary.key.mode": "RECORD_KEY", "schema.evolution": "basic", "insert.mode": "upsert"})
	old := New("o", "", map[string]string{KeyClass: ClassDebeziumJDBC, KeyTopics: "a.b", "table.name.format": "t_${topic}"})
	sourceFormat := New("o", "", map[string]string{KeyClass: ClassDebeziumJDBC, KeyTopics: "a.b", "collection.name.format": "${source.table}"})

	if !confluent.IsSink() || !confluent.Consumes("srv.erp.dbo.orders") || confluent.Consumes("srv.erp.dbo") || confluent.Consumes("xsrv.erp.dbo.orders") {
		t.Error("topics.regex is matched against the whole topic")
	}
	if !debezium.Consumes("srv.public.lines") || debezium.Consumes("srv.public") {
		t.Error("topics list")
	}
	if confluent.KeyModeSetting() != "pk.mode" || confluent.KeyMode() != "record_key" || debezium.KeyModeSetting() != "primary.key.mode" || debezium.KeyMode() != "record_key" {
		t.Error("key modes")
	}
	if confluent.InsertMode() != "insert" || debezium.InsertMode() != "upsert" {
		t.Error("insert.mode defaults to insert")
	}
	for _, tc := range []struct {
		c     *Connector
		topic string
		want  string
		ok    bool
	}{
		{confluent, "srv.erp.dbo.orders", "replica_srv.erp.dbo.orders", true},
		{debezium, "srv.public.orders", "srv_public_orders", true},
		{old, "a.b", "t_a_b", true},
		{sourceFormat, "a.b", "", false},
	} {
		got, ok := tc.c.TargetTable(tc.topic)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s TargetTable(%s) = %q, %v; want %q, %v", tc.c.Class(), tc.topic, got, ok, tc.want, tc.ok)
		}
	}
	if c, e := confluent.SchemaEvolution(); c || !e {
		t.Error("Confluent schema evolution reads auto.create and auto.evolve")
	}
	if c, e := debezium.SchemaEvolution(); !c || !e {
		t.Error("Debezium schema evolution reads schema.evolution")
	}
	if ep, driver, ok := confluent.SinkEndpoint(); !ok || driver != config.DriverPostgres || ep.Database != "target" {
		t.Errorf("SinkEndpoint = %v %s %v", ep, driver, ok)
	}
}

func TestTaskLimit(t *testing.T) {
	for _, tc := range []struct {
		cfg   map[string]string
		limit int
		why   string
	}{
		{map[string]string{KeyClass: ClassSQLServer, "database.names": "a,b"}, 2, "one task per database, and database.names lists 2 (a, b)"},
		{map[string]string{KeyClass: ClassSQLServer, "database.names": "a,b,c,d,e,f,g,h,i,j"}, 8, "at most 8"},
		{map[string]string{KeyClass: ClassSQLServer}, 8, "at most 8"},
		{map[string]string{KeyClass: ClassPostgres}, 1, "always runs a single task"},
		{map[string]string{KeyClass: ClassMySQL}, 1, "always runs a single task"},
		{map[string]string{KeyClass: ClassConfluentJDBC, KeyConnectionURL: "jdbc:postgresql://pg/target"}, 32, "JDBC sink into PostgreSQL"},
		{map[string]string{KeyClass: ClassDebeziumJDBC, KeyConnectionURL: "jdbc:sqlserver://ms;databaseName=x"}, 0, ""},
		{map[string]string{KeyClass: "com.example.Other"}, 0, ""},
	} {
		c := New("c", "", tc.cfg)
		limit, why := c.TaskLimit()
		if limit != tc.limit || !strings.Contains(why, tc.why) {
			t.Errorf("%v: TaskLimit = %d %q, want %d %q", tc.cfg, limit, why, tc.limit, tc.why)
		}
	}
	c := New("c", "", map[string]string{KeyClass: ClassSQLServer, "database.names": "a,b"})
	if msg := c.CheckTasks(3); !strings.Contains(msg, "tasks.max=3 is above 2") {
		t.Errorf("CheckTasks(3) = %q", msg)
	}
	if msg := c.CheckTasks(2); msg != "" {
		t.Errorf("CheckTasks(2) = %q", msg)
	}
}

// skipped.operations: Debezium's default skips truncates only; "none"
// skips nothing; d means deleted rows never leave the target.
func TestSkippedOperations(t *testing.T) {
	for _, tc := range []struct {
		set         string
		skipsDelete bool
		want        string
	}{
		{"", false, "t"},
		{"none", false, ""},
		{"d", true, "d"},
		{" U , D ", true, "d,u"},
		{"c,t", false, "c,t"},
	} {
		cfg := map[string]string{}
		if tc.set != "" {
			cfg[KeySkippedOperations] = tc.set
		}
		c := New("src", TypeSource, cfg)
		ops := c.SkippedOperations()
		var got []string
		for _, op := range []string{"c", "d", "t", "u"} {
			if ops[op] {
				got = append(got, op)
			}
		}
		if strings.Join(got, ",") != tc.want || c.SkipsDeletes() != tc.skipsDelete {
			t.Errorf("skipped.operations=%q: %v, skips deletes %v; want %s, %v", tc.set, got, c.SkipsDeletes(), tc.want, tc.skipsDelete)
		}
	}
}

// Retained history: deletes skipped at the source, or not applied by the
// sink writing the table, unless they land as soft deletes the target
// reads.
func TestDeletesRetained(t *testing.T) {
	src := New("src", TypeSource, map[string]string{})
	skipping := New("src", TypeSource, map[string]string{KeySkippedOperations: "t,d"})
	applying := New("sink-a", TypeSink, map[string]string{KeyTopics: "p.public.orders", "delete.enabled": "true"})
	keeping := New("sink-k", TypeSink, map[string]string{KeyTopics: "p.public.orders"})
	other := New("sink-o", TypeSink, map[string]string{KeyTopics: "p.public.other"})
	rewriting := New("sink-r", TypeSink, map[string]string{KeyTopics: "p.public.orders",
		"transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState", "transforms.unwrap.delete.handling.mode": "rewrite"})
	for _, tc := range []struct {
		name   string
		source *Connector
		sinks  []*Connector
		soft   bool
		want   string
	}{
		{"propagated", src, []*Connector{applying, other}, false, ""},
		{"skipped at the source", skipping, []*Connector{applying}, false, "source connector src has d in skipped.operations"},
		{"sink keeps them", src, []*Connector{applying, keeping}, false, "sink connector sink-k does not apply deletes"},
		{"another table's sink", src, []*Connector{other}, false, ""},
		{"soft deletes read", src, []*Connector{rewriting}, true, ""},
		{"soft deletes not read", src, []*Connector{rewriting}, false, "sink connector sink-r does not apply deletes"},
		{"no source known", nil, nil, false, ""},
	} {
		got := DeletesRetained(tc.source, tc.sinks, "p.public.orders", tc.soft)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A table's topic is one answer for doctor, repair and the sink-zone
// lookup: on a SQL Server source whose DSN names no database, the
// database comes from database.names (repair once built the topic from
// the DSN alone, ".dbo.orders").
func TestTableTopic(t *testing.T) {
	mssql := New("src", TypeSource, map[string]string{KeyClass: ClassSQLServer, "topic.prefix": "inv", "database.names": "inventory,other"})
	if got, want := mssql.TableTopic(openDB(t, "s", "sqlserver", "sqlserver://u:p@h:1433"), "orders"), "inv.inventory.dbo.orders"; got != want {
		t.Errorf("SQL Server, DSN without a database: %s, want %s", got, want)
	}
	if got, want := mssql.TableTopic(openDB(t, "s2", "sqlserver", "sqlserver://u:p@h:1433?database=other"), "sales.orders"), "inv.other.sales.orders"; got != want {
		t.Errorf("SQL Server, DSN with a database: %s, want %s", got, want)
	}
	pg := New("pg", TypeSource, map[string]string{KeyClass: ClassPostgres, "topic.prefix": "app"})
	if got, want := pg.TableTopic(openDB(t, "p", "postgres", "postgres://u:p@h:5432/db"), "orders"), "app.public.orders"; got != want {
		t.Errorf("PostgreSQL: %s, want %s", got, want)
	}
}
