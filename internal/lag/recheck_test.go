package lag

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag/lagtest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

func withMargin(t config.Table, margin time.Duration) config.Table {
	t.Drift = &config.Drift{RecheckMargin: margin}
	return t
}

func TestRecheckWaitIsLagPlusMarginOnPostgres(t *testing.T) {
	src, smock := lagtest.MockDB(t, "src", config.DriverPostgres)
	tgt, tmock := lagtest.MockDB(t, "tgt", config.DriverPostgres)
	newest := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	lagtest.ExpectMax(src, smock, lagtest.OrdersSource, "updated_at", newest)
	lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", newest.Add(-30*time.Second).UnixMilli())
	lagtest.ExpectOldestAfter(src, smock, lagtest.OrdersSource, "updated_at", newest.Add(time.Second), newest.Add(-29*time.Second))
	r := NewReader(map[string]*database.DB{"src": src, "tgt": tgt}, nil)
	d, err := r.RecheckWaitFunc(withMargin(lagtest.OrdersTable(), 10*time.Second))(context.Background())
	if err != nil || d != 40*time.Second {
		t.Fatalf("got %v, %v; want 30s of lag and 10s of margin", d, err)
	}
}

func TestRecheckWaitWithoutASourceTimeIsTheMargin(t *testing.T) {
	src, _ := lagtest.MockDB(t, "src", config.DriverPostgres)
	tgt, _ := lagtest.MockDB(t, "tgt", config.DriverPostgres)
	tb := withMargin(lagtest.OrdersTable(), 7*time.Second)
	tb.SourceTimestampColumn = ""
	d, err := NewReader(map[string]*database.DB{"src": src, "tgt": tgt}, nil).RecheckWait(context.Background(), tb)
	if err != nil || d != 7*time.Second {
		t.Fatalf("got %v, %v; want the margin alone", d, err)
	}
}

// sqlServerOrders sets up a SQL Server source whose capture instance
// dbo_orders has a change the target has not applied, committed 42s ago
// on the source's clock, and a target that applied up to 12:00:00 UTC.
func sqlServerOrders(t *testing.T) (*Reader, config.Table, sqlmock.Sqlmock) {
	src, smock := lagtest.MockDB(t, "erp", config.DriverSQLServer)
	tgt, tmock := lagtest.MockDB(t, "tgt", config.DriverPostgres)
	smock.ExpectQuery(regexp.QuoteMeta(database.CaptureInstanceQuery)).WithArgs("[dbo].[orders]").
		WillReturnRows(sqlmock.NewRows([]string{"capture_instance"}).AddRow("dbo_orders"))
	smock.ExpectQuery(regexp.QuoteMeta(database.CaptureKeyQuery)).WithArgs("dbo_orders").
		WillReturnRows(sqlmock.NewRows([]string{"column_name"}).AddRow("id"))
	smock.ExpectQuery(regexp.QuoteMeta(sqldialect.SQLServerVersionQuery)).
		WillReturnRows(sqlmock.NewRows([]string{"major", "level", "edition", "compat"}).AddRow(int64(15), "RTM", int64(2), int64(150)))
	smock.ExpectQuery(regexp.QuoteMeta(database.PendingChangeQuery(database.CaptureInstance{Name: "dbo_orders", Key: []string{"id"}}, false))).
		WithArgs(sql.Named("applied", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)), sql.Named("offset", nil)).
		WillReturnRows(sqlmock.NewRows([]string{"age_ms", "offset"}).AddRow(int64(42000), int64(120)))
	lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli())
	tb := config.Table{Name: "orders", Source: config.TableRef{Database: "erp", Table: "dbo.orders"},
		Target: config.TableRef{Database: "tgt", Table: "public.orders"}, WatermarkColumn: "__source_ts_ms",
		Drift: &config.Drift{RecheckMargin: 10 * time.Second}}
	return NewReader(map[string]*database.DB{"erp": src, "tgt": tgt}, nil), tb, smock
}

// A change committed on SQL Server reaches the change table lag reads
// only once the capture job has scanned it: the recheck waits for that
// latency too.
func TestRecheckWaitAddsSQLServerCaptureLatency(t *testing.T) {
	r, tb, smock := sqlServerOrders(t)
	smock.ExpectQuery(regexp.QuoteMeta(database.CaptureLatencyQuery)).WillReturnRows(sqlmock.NewRows([]string{"latency"}).AddRow(int64(25)))
	d, err := r.RecheckWait(context.Background(), tb)
	if err != nil || d != 42*time.Second+25*time.Second+10*time.Second {
		t.Fatalf("got %v, %v; want 42s of lag, 25s of capture latency and 10s of margin", d, err)
	}
}

// Without VIEW DATABASE STATE the capture latency is unknown: the
// recheck fails rather than wait too little.
func TestRecheckWaitFailsWithoutTheCaptureLatency(t *testing.T) {
	r, tb, smock := sqlServerOrders(t)
	smock.ExpectQuery(regexp.QuoteMeta(database.CaptureLatencyQuery)).WillReturnError(mssql.Error{Number: 300, Message: "VIEW DATABASE STATE permission denied in database 'erp'."})
	if _, err := r.RecheckWait(context.Background(), tb); !errors.Is(err, database.ErrPermission) {
		t.Fatalf("error %v, want a permission error", err)
	}
}
