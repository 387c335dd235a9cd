package collector

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag/lagtest"
)

func TestTableLag(t *testing.T) {
	newest := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		sourceMax   any
		targetMax   any
		sourceNow   time.Time // the source's clock, read with the oldest pending change
		oldest      any       // the oldest source change later than the applied one
		wantLag     string
		wantApplied bool
	}{
		{"caught up and idle for hours: exactly 0", newest, newest.UnixMilli(), time.Time{}, nil, "0", true},
		{"source transaction start precedes its commit time: clamped to 0", newest.Add(-3 * time.Millisecond), newest.UnixMilli(), time.Time{}, nil, "0", true},
		{"sink behind: the age of the oldest change not applied", newest, newest.Add(-90 * time.Second).UnixMilli(), newest.Add(time.Second), newest.Add(-89 * time.Second), "90", true},
		{"stuck sink on a quiet source: the age grows with the source's clock", newest, newest.Add(-90 * time.Second).UnixMilli(), newest.Add(10 * time.Minute), newest.Add(-89 * time.Second), "689", true},
		{"empty source table: nothing pending", nil, newest.UnixMilli(), time.Time{}, nil, "0", true},
		{"nothing applied yet: no lag series", newest, nil, time.Time{}, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, smock := lagtest.MockDB(t, "src", config.DriverPostgres)
			tgt, tmock := lagtest.MockDB(t, "tgt", config.DriverPostgres)
			lagtest.ExpectMax(src, smock, lagtest.OrdersSource, "updated_at", tt.sourceMax)
			lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", tt.targetMax)
			if tt.oldest != nil {
				lagtest.ExpectOldestAfter(src, smock, lagtest.OrdersSource, "updated_at", tt.sourceNow, tt.oldest)
			}
			dbs := map[string]*database.DB{"src": src, "tgt": tgt}
			c := NewLagCollector([]config.Table{lagtest.OrdersTable()}, dbs, lag.NewReader(dbs, nil), discard())
			out := collect(t, context.Background(), c)
			if tt.wantLag != "" {
				if want := `cdc_table_lag_seconds{table="orders"} ` + tt.wantLag + "\n"; !strings.Contains(out, want) {
					t.Errorf("want %q in\n%s", want, out)
				}
			} else if strings.Contains(out, "cdc_table_lag_seconds{") {
				t.Errorf("unexpected lag series in\n%s", out)
			}
			if got := strings.Contains(out, `cdc_table_last_applied_timestamp_seconds{table="orders"}`); got != tt.wantApplied {
				t.Errorf("last applied present %v, want %v:\n%s", got, tt.wantApplied, out)
			}
			for _, want := range []string{`cdc_db_up{database="src"} 1`, `cdc_db_up{database="tgt"} 1`} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %s", want)
				}
			}
		})
	}
}

// hangingListener accepts connections and never answers, like a database
// host whose process is wedged.
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestHangingDatabaseIsDownWithinTheDeadlineAndTheRestIsComplete(t *testing.T) {
	addr := hangingListener(t)
	dead, err := database.Open(context.Background(), config.Database{
		Name: "dead", Driver: config.DriverPostgres, DSN: config.Secret("postgres://u:secretpw@" + addr + "/x?sslmode=disable"),
		MaxOpenConns: 2, QueryTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	c := ordersAndAStuckTable(t, dead)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out := collect(t, ctx, c)
	for _, want := range []string{
		`cdc_db_up{database="dead"} 0`,
		`cdc_db_up{database="src"} 1`,
		`cdc_table_lag_seconds{table="orders"} 0`,
		// the stuck table's target is alive: what was applied is still known
		`cdc_table_last_applied_timestamp_seconds{table="stuck"}`,
		`cdc_scrape_collector_success{collector="lag"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `cdc_table_lag_seconds{table="stuck"}`) {
		t.Error("a lag was reported for a table whose source is down")
	}
	if strings.Contains(out, "secretpw") {
		t.Error("the DSN's password reached the metrics")
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ordersAndAStuckTable collects the lag of two tables: orders, between
// healthy databases that answer once each (the target twice: both tables
// apply there), and stuck, whose source is db.
func ordersAndAStuckTable(t *testing.T, db *database.DB) *LagCollector {
	t.Helper()
	src, smock := lagtest.MockDB(t, "src", config.DriverPostgres)
	tgt, tmock := lagtest.MockDB(t, "tgt", config.DriverPostgres)
	now := time.Now()
	lagtest.ExpectMax(src, smock, lagtest.OrdersSource, "updated_at", now)
	lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", now.UnixMilli())
	lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", now.UnixMilli())
	stuck := lagtest.OrdersTable()
	stuck.Name, stuck.Source.Database = "stuck", db.Name()
	dbs := map[string]*database.DB{"src": src, "tgt": tgt, db.Name(): db}
	return NewLagCollector([]config.Table{lagtest.OrdersTable(), stuck}, dbs, lag.NewReader(dbs, nil), discard())
}

// A database that accepts connections and never answers, with a query
// timeout far longer than the scrape: the tables on healthy databases
// still report their lag in the same scrape, the hanging database
// reports cdc_db_up 0 in that first scrape, and a table whose source
// hangs still reports what its healthy target applied.
func TestHangingDatabaseLongerThanTheScrapeDelaysOnlyItsOwnTables(t *testing.T) {
	addr := hangingListener(t)
	hang, err := database.Open(context.Background(), config.Database{
		Name: "hang", Driver: config.DriverPostgres, DSN: config.Secret("postgres://u:pw@" + addr + "/x?sslmode=disable"),
		MaxOpenConns: 2, QueryTimeout: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	c := ordersAndAStuckTable(t, hang)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out := collect(t, ctx, c)
	for _, want := range []string{
		`cdc_db_up{database="hang"} 0`,
		`cdc_db_up{database="src"} 1`,
		`cdc_db_up{database="tgt"} 1`,
		`cdc_table_lag_seconds{table="orders"} 0`,
		`cdc_table_last_applied_timestamp_seconds{table="stuck"}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `abandoned`) || !strings.Contains(out, `cdc_scrape_collector_success{collector="lag"} 0`) {
		t.Errorf("the collector should finish (failed, for the hanging database) within the scrape:\n%s", out)
	}
}
