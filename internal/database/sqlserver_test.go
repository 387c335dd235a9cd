package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database/databasetest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

func mockSQLServer(t *testing.T) (*DB, sqlmock.Sqlmock) {
	t.Helper()
	return mockDB(t, config.Database{Name: "erp", Driver: config.DriverSQLServer, QueryTimeout: time.Second})
}

// mockDB is a database of cfg on go-sqlmock whose expectations must all
// be met by the end of the test.
func mockDB(t *testing.T, cfg config.Database) (*DB, sqlmock.Sqlmock) {
	t.Helper()
	pool, mock := databasetest.Mock(t)
	return NewWithPool(cfg, pool), mock
}

// permissionDenied is what SQL Server sends for a DMV without VIEW
// DATABASE STATE (error 300).
var permissionDenied = mssql.Error{Number: 300, Class: 14, Message: "VIEW DATABASE STATE permission denied in database 'erp'."}

func TestPendingChangeQuoting(t *testing.T) {
	if got := PendingChangeQuery(CaptureInstance{Name: "x]; DROP TABLE t; --", Key: []string{"a]b"}}, false); !strings.Contains(got, "cdc.[x]]; DROP TABLE t; --_CT]") || !strings.Contains(got, "[a]]b]") {
		t.Errorf("capture instance or key not quoted: %s", got)
	}
}

func TestPendingChange(t *testing.T) {
	applied := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		rows        *sqlmock.Rows
		err         error
		want        time.Duration
		wantPending bool
		wantIs      error
	}{
		{
			name:        "a change 42.5s old not applied",
			rows:        sqlmock.NewRows([]string{"age", "offset"}).AddRow(int64(42500), int64(120)),
			want:        42500 * time.Millisecond,
			wantPending: true,
		},
		{
			name: "nothing after the applied change: caught up",
			rows: sqlmock.NewRows([]string{"age", "offset"}).AddRow(nil, int64(120)),
		},
		{
			name:   "change table missing: CDC not enabled",
			err:    mssql.Error{Number: 208, Message: "Invalid object name 'cdc.dbo_orders_CT'."},
			wantIs: ErrCDCNotEnabled,
		},
		{
			name:   "no SELECT on the cdc schema",
			err:    mssql.Error{Number: 229, Message: "The SELECT permission was denied on the object 'dbo_orders_CT', database 'erp', schema 'cdc'."},
			wantIs: ErrPermission,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, mock := mockSQLServer(t)
			expectVersion(mock, 15, 150)
			q := mock.ExpectQuery(PendingChangeQuery(CaptureInstance{Name: "dbo_orders"}, false)).
				WithArgs(sql.Named("applied", applied), sql.Named("offset", nil))
			if tt.err != nil {
				q.WillReturnError(tt.err)
			} else {
				q.WillReturnRows(tt.rows)
			}
			got, pending, err := db.PendingChange(context.Background(), CaptureInstance{Name: "dbo_orders"}, applied)
			if tt.wantIs != nil {
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("error %v, want one wrapping %v", err, tt.wantIs)
				}
				if !strings.Contains(err.Error(), "database erp") || !strings.Contains(err.Error(), "dbo_orders") {
					t.Errorf("error %q does not name the database and capture instance", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pending != tt.wantPending || got != tt.want {
				t.Errorf("got %v (pending %v), want %v (pending %v)", got, pending, tt.want, tt.wantPending)
			}
		})
	}
}

func TestCaptureInstance(t *testing.T) {
	t.Run("found", func(t *testing.T) {
		db, mock := mockSQLServer(t)
		mock.ExpectQuery(CaptureInstanceQuery).WithArgs("[dbo].[orders]").
			WillReturnRows(sqlmock.NewRows([]string{"capture_instance"}).AddRow("dbo_orders_v2"))
		mock.ExpectQuery(CaptureKeyQuery).WithArgs("dbo_orders_v2").
			WillReturnRows(sqlmock.NewRows([]string{"column_name"}).AddRow("region").AddRow("id"))
		ci, err := db.CaptureInstance(context.Background(), "dbo.orders")
		if err != nil || ci.Name != "dbo_orders_v2" || strings.Join(ci.Key, ",") != "region,id" {
			t.Fatalf("got %q, %v", ci, err)
		}
	})
	t.Run("table not enabled", func(t *testing.T) {
		db, mock := mockSQLServer(t)
		mock.ExpectQuery(CaptureInstanceQuery).WithArgs("[dbo].[orders]").WillReturnRows(sqlmock.NewRows([]string{"capture_instance"}))
		_, err := db.CaptureInstance(context.Background(), "dbo.orders")
		if !errors.Is(err, ErrCDCNotEnabled) || !strings.Contains(err.Error(), "sp_cdc_enable_table") {
			t.Fatalf("error %v: want ErrCDCNotEnabled and the fix", err)
		}
	})
	t.Run("database not enabled", func(t *testing.T) {
		db, mock := mockSQLServer(t)
		mock.ExpectQuery(CaptureInstanceQuery).WithArgs("[dbo].[orders]").
			WillReturnError(mssql.Error{Number: 208, Message: "Invalid object name 'cdc.change_tables'."})
		_, err := db.CaptureInstance(context.Background(), "dbo.orders")
		if !errors.Is(err, ErrCDCNotEnabled) {
			t.Fatalf("error %v, want ErrCDCNotEnabled", err)
		}
	})
}

func expectHealth(mock sqlmock.Sqlmock, latency, errCount driver.Value, maxLSN driver.Value, denyDMVs bool) {
	mock.ExpectQuery(CDCEnabledQuery).WillReturnRows(sqlmock.NewRows([]string{"is_cdc_enabled"}).AddRow(true))
	mock.ExpectQuery(LogReuseWaitQuery).WillReturnRows(sqlmock.NewRows([]string{"w"}).AddRow("NOTHING"))
	if denyDMVs {
		mock.ExpectQuery(CaptureScanQuery).WillReturnError(permissionDenied)
	} else {
		mock.ExpectQuery(CaptureScanQuery).WillReturnRows(sqlmock.NewRows([]string{"latency", "end", "tz"}).AddRow(latency, nil, int64(-300)))
	}
	mock.ExpectQuery(CDCJobsQuery).WillReturnRows(sqlmock.NewRows([]string{"job_type", "pollinginterval", "retention"}).
		AddRow("capture", int64(5), int64(0)).AddRow("cleanup  ", int64(0), int64(4320)))
	if denyDMVs {
		mock.ExpectQuery(CDCErrorsQuery).WillReturnError(permissionDenied)
	} else {
		mock.ExpectQuery(CDCErrorsQuery).WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(errCount))
	}
	expectVersion(mock, 15, 150)
	mock.ExpectQuery(MaxLSNTimeQuery(false)).WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}).AddRow(maxLSN, int64(-300)))
}

func TestSQLServerHealth(t *testing.T) {
	t.Run("all readable", func(t *testing.T) {
		db, mock := mockSQLServer(t)
		expectHealth(mock, 3.0, int64(2), time.Date(2024, 5, 1, 7, 0, 0, 0, time.UTC), false)
		h := db.SQLServerHealth(context.Background())
		if h.Err != nil {
			t.Fatal(h.Err)
		}
		if !*h.CDCEnabled || *h.Latency != 3 || *h.ErrorCount != 2 {
			t.Errorf("got enabled %v latency %v errors %v", *h.CDCEnabled, *h.Latency, *h.ErrorCount)
		}
		if h.Jobs["capture"].PollingInterval != 5 || h.Jobs["cleanup"].RetentionMinutes != 4320 {
			t.Errorf("jobs %+v", h.Jobs)
		}
		// 07:00 at UTC-5 is 12:00 UTC.
		if want := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC); !h.MaxLSNTime.Equal(want) {
			t.Errorf("max LSN time %v, want %v", h.MaxLSNTime, want)
		}
	})
	t.Run("no scan session yet and NULL max LSN", func(t *testing.T) {
		db, mock := mockSQLServer(t)
		expectHealth(mock, nil, int64(0), nil, false)
		h := db.SQLServerHealth(context.Background())
		if h.Err != nil || h.Latency != nil || h.MaxLSNTime != nil {
			t.Errorf("got err %v latency %v max LSN %v, want none", h.Err, h.Latency, h.MaxLSNTime)
		}
	})
	t.Run("without VIEW DATABASE STATE the rest still reports", func(t *testing.T) {
		db, mock := mockSQLServer(t)
		expectHealth(mock, nil, nil, time.Date(2024, 5, 1, 7, 0, 0, 0, time.UTC), true)
		h := db.SQLServerHealth(context.Background())
		if !errors.Is(h.Err, ErrPermission) {
			t.Fatalf("error %v, want ErrPermission", h.Err)
		}
		for _, want := range []string{"sys.dm_cdc_log_scan_sessions", "sys.dm_cdc_errors", "VIEW DATABASE STATE"} {
			if !strings.Contains(h.Err.Error(), want) {
				t.Errorf("error %q does not mention %s", h.Err, want)
			}
		}
		if h.Latency != nil || h.ErrorCount != nil || h.MaxLSNTime == nil || !h.JobsReadable {
			t.Errorf("latency %v errors %v maxLSN %v jobs %v", h.Latency, h.ErrorCount, h.MaxLSNTime, h.JobsReadable)
		}
	})
	t.Run("CDC not enabled for the database", func(t *testing.T) {
		db, mock := mockSQLServer(t)
		mock.ExpectQuery(CDCEnabledQuery).WillReturnRows(sqlmock.NewRows([]string{"is_cdc_enabled"}).AddRow(false))
		h := db.SQLServerHealth(context.Background())
		if !errors.Is(h.Err, ErrCDCNotEnabled) || !strings.Contains(h.Err.Error(), "sp_cdc_enable_db") {
			t.Fatalf("error %v", h.Err)
		}
		if h.CDCEnabled == nil || *h.CDCEnabled {
			t.Error("cdc_enabled should be reported as false")
		}
	})
	t.Run("msdb not readable", func(t *testing.T) {
		db, mock := mockSQLServer(t)
		mock.ExpectQuery(CDCEnabledQuery).WillReturnRows(sqlmock.NewRows([]string{"is_cdc_enabled"}).AddRow(true))
		mock.ExpectQuery(LogReuseWaitQuery).WillReturnRows(sqlmock.NewRows([]string{"w"}).AddRow("NOTHING"))
		mock.ExpectQuery(CaptureScanQuery).WillReturnRows(sqlmock.NewRows([]string{"latency", "end", "tz"}).AddRow(1.0, nil, int64(0)))
		mock.ExpectQuery(CDCJobsQuery).WillReturnError(mssql.Error{Number: 229, Message: "The SELECT permission was denied on the object 'cdc_jobs', database 'msdb', schema 'dbo'."})
		mock.ExpectQuery(CDCErrorsQuery).WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(int64(0)))
		expectVersion(mock, 15, 150)
		mock.ExpectQuery(MaxLSNTimeQuery(false)).WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}).AddRow(nil, int64(0)))
		h := db.SQLServerHealth(context.Background())
		if !errors.Is(h.Err, ErrPermission) || !strings.Contains(h.Err.Error(), "msdb.dbo.cdc_jobs") || h.JobsReadable {
			t.Fatalf("error %v, jobs readable %v", h.Err, h.JobsReadable)
		}
	})
}

func TestLSNTimes(t *testing.T) {
	committedAt := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	newestAt := time.Date(2024, 5, 1, 12, 0, 42, 0, time.UTC)
	tests := []struct {
		name      string
		committed driver.Value
		newest    driver.Value
		wantOK    bool
	}{
		{"both mapped", committedAt, newestAt, true},
		{"LSN no longer mapped", nil, newestAt, false},
		{"no newest LSN", committedAt, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, mock := mockSQLServer(t)
			mock.ExpectQuery(LSNTimesQuery).WithArgs("0000002b000002e30003").
				WillReturnRows(sqlmock.NewRows([]string{"c", "n"}).AddRow(tt.committed, tt.newest))
			c, n, ok, err := db.LSNTimes(context.Background(), mustLSN(t, "0000002b:000002e3:0003"))
			if err != nil || ok != tt.wantOK {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, tt.wantOK)
			}
			if ok && (!c.Equal(committedAt) || !n.Equal(newestAt)) {
				t.Errorf("got %v and %v, want %v and %v", c, n, committedAt, newestAt)
			}
		})
	}
}

// mustLSN parses a commit_lsn as Debezium writes it.
func mustLSN(t *testing.T, s string) retention.LSN {
	t.Helper()
	lsn, err := retention.ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return lsn
}

func TestQueriesAreTheDocumentedOnes(t *testing.T) {
	// Guard the exact text reviewed against Microsoft's documentation.
	for q, want := range map[string]string{
		CaptureScanQuery:       `FROM sys.dm_cdc_log_scan_sessions WHERE session_id > 0`,
		CDCJobsQuery:           `FROM msdb.dbo.cdc_jobs WHERE database_id = DB_ID()`,
		MaxLSNTimeQuery(false): `sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn())`,
		LSNTimesQuery:          `CONVERT(binary(10), @p1, 2)`,
	} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(q) {
			t.Errorf("%q lacks %q", q, want)
		}
	}
}

func expectVersion(mock sqlmock.Sqlmock, major, compat int) {
	mock.ExpectQuery(sqldialect.SQLServerVersionQuery).
		WillReturnRows(sqlmock.NewRows([]string{"major", "level", "edition", "compat"}).AddRow(int64(major), "RTM", int64(2), int64(compat)))
}
