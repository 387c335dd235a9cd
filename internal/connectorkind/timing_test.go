package connectorkind

import (
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Each sink names its zone its own way; both default to UTC.
func TestSinkTimeZone(t *testing.T) {
	for _, tc := range []struct {
		class, key, set, want string
		utc                   bool
	}{
		{ClassConfluentJDBC, "", "", "UTC", true},
		{ClassConfluentJDBC, KeyConfluentTimeZone, "Europe/Paris", "Europe/Paris", false},
		{ClassDebeziumJDBC, "", "", "UTC", true},
		{ClassDebeziumJDBC, KeyDebeziumTimeZone, "America/New_York", "America/New_York", false},
		// The other sink's key means nothing to this one.
		{ClassDebeziumJDBC, KeyConfluentTimeZone, "Europe/Paris", "UTC", true},
		{ClassConfluentJDBC, KeyConfluentTimeZone, "Etc/UTC", "Etc/UTC", true},
		{ClassConfluentJDBC, KeyConfluentTimeZone, "Europe/London", "Europe/London", false},
	} {
		cfg := map[string]string{KeyClass: tc.class, KeyTopics: "t"}
		if tc.key != "" {
			cfg[tc.key] = tc.set
		}
		c := New("sink", TypeSink, cfg)
		if got := c.SinkTimeZone(); got != tc.want || IsUTC(got) != tc.utc {
			t.Errorf("%s %s=%q: zone %q (UTC %v), want %q (UTC %v)", tc.class, tc.key, tc.set, got, IsUTC(got), tc.want, tc.utc)
		}
	}
}

func TestSourceTimestampMode(t *testing.T) {
	if m := New("s", TypeSource, map[string]string{KeyClass: ClassSQLServer}).SourceTimestampMode(); m != "commit" {
		t.Errorf("default %q, want commit", m)
	}
	if m := New("s", TypeSource, map[string]string{KeyClass: ClassSQLServer, KeySourceTimestampMode: "Processing"}).SourceTimestampMode(); m != SourceTimestampProcessing {
		t.Errorf("%q, want processing", m)
	}
}

// message.key.columns: table regexes (schema.table, or with the database
// on SQL Server) before a colon, columns after, entries split by ';'.
func TestMessageKeyColumns(t *testing.T) {
	c := New("s", TypeSource, map[string]string{KeyClass: ClassSQLServer,
		KeyMessageKeyColumns: "inventory.dbo.orders:order_id, line_no; dbo.cust.*:customer_id;bad[:x"})
	for _, tc := range []struct {
		db, schema, table string
		want              string
	}{
		{"inventory", "dbo", "orders", "order_id,line_no"},
		{"INVENTORY", "DBO", "Orders", "order_id,line_no"},
		{"", "dbo", "orders", ""},
		{"other", "dbo", "customers", "customer_id"},
		{"inventory", "dbo", "items", ""},
	} {
		if got := strings.Join(c.MessageKeyColumns(tc.db, tc.schema, tc.table), ","); got != tc.want {
			t.Errorf("%s.%s.%s: %q, want %q", tc.db, tc.schema, tc.table, got, tc.want)
		}
	}
}

// A SQL Server data collection carries its database; with none in the
// DSN nor in the table's name it is unknown (a source may read several),
// which is refused with the ways out, never sent as ".dbo.orders".
func TestSignalDataCollectionNeedsTheDatabase(t *testing.T) {
	for _, tc := range []struct{ db, table, configured, want, err string }{
		{"ERP", "dbo.orders", "", "ERP.dbo.orders", ""},
		{"", "ERP.dbo.orders", "", "ERP.dbo.orders", ""},
		{"", "dbo.orders", "Sales.dbo.orders", "Sales.dbo.orders", ""},
		{"", "dbo.orders", "", "", "names no database"},
		{"", "orders", "", "", "<database>.<schema>.<table>"},
	} {
		got, err := SignalDataCollection("sqlserver", tc.db, tc.table, tc.configured)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "signal.data_collection") {
				t.Errorf("%q %q: %q, %v; want an error saying %q and how to fix it", tc.db, tc.table, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q %q: %q, %v; want %q", tc.db, tc.table, got, err, tc.want)
		}
	}
	if got, err := SignalDataCollection("postgres", "", "inventory.customers", ""); err != nil || got != "inventory.customers" {
		t.Errorf("PostgreSQL: %q, %v", got, err)
	}
}

// A source reading several databases captures a table of any of them
// when the DSN names none; a three-part table name says which.
func TestCapturesTableAcrossDatabaseNames(t *testing.T) {
	src := New("src", TypeSource, map[string]string{KeyClass: ClassSQLServer, "database.names": "ERP,Sales",
		"table.include.list": `Sales\.dbo\.orders`})
	db := database.NewWithPool(config.Database{Name: "mssql", Driver: "sqlserver", DSN: "sqlserver://u:p@mssql:1433", Connectors: []string{"src"}}, nil)
	all := []*database.DB{db}
	for table, want := range map[string]bool{"dbo.orders": true, "Sales.dbo.orders": true, "ERP.dbo.orders": false, "dbo.items": false} {
		if got := src.CapturesTable(all, db, table); got != want {
			t.Errorf("%s captured: %v, want %v", table, got, want)
		}
	}
}

// A source without time.precision.mode runs Debezium's default; a value
// is read trimmed, as the connector reads it.
func TestTimePrecisionMode(t *testing.T) {
	for set, want := range map[string]string{"": "adaptive", " ": "adaptive", "connect": "connect", " adaptive_time_microseconds ": "adaptive_time_microseconds"} {
		c := New("src", TypeSource, map[string]string{KeyClass: ClassSQLServer, KeyTimePrecisionMode: set})
		if got := c.TimePrecisionMode(); got != want {
			t.Errorf("time.precision.mode=%q: %q, want %q", set, got, want)
		}
	}
}
