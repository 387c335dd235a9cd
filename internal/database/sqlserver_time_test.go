package database

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The lag and capture T-SQL per version: 2016 to 2019 have no
// CURRENT_TIMEZONE_ID(), so the offset comes from SYSDATETIMEOFFSET() and
// the first-seen memo; 2022 and Azure SQL convert with the server's zone.
func TestGoldenLagTSQLPerVersion(t *testing.T) {
	orders := CaptureInstance{Name: "dbo_orders", Key: []string{"region", "id"}}
	testenv.Golden(t, "tsql/newest-change-2016-2019.sql", NewestChangeQuery(orders, false))
	testenv.Golden(t, "tsql/newest-change-2022-azure.sql", NewestChangeQuery(orders, true))
	testenv.Golden(t, "tsql/newest-change-no-key.sql", NewestChangeQuery(CaptureInstance{Name: "dbo_log"}, false))
	testenv.Golden(t, "tsql/max-lsn-time-2016-2019.sql", MaxLSNTimeQuery(false))
	testenv.Golden(t, "tsql/max-lsn-time-2022-azure.sql", MaxLSNTimeQuery(true))
	testenv.Golden(t, "tsql/capture-scan.sql", CaptureScanQuery)
}

// An idle table across a daylight saving switch: the newest change's
// local time stays the same while the server's offset moves from +2h to
// +1h. Debezium stamped the change with +2h when it read it; the lag must
// keep using that offset, not the one at scrape time, or an idle, caught
// up table would show an hour of lag (or hide an hour).
func TestNewestChangeKeepsTheOffsetOfCaptureAcrossDST(t *testing.T) {
	db, mock := mockSQLServer(t)
	ci := CaptureInstance{Name: "dbo_orders", Key: []string{"id"}}
	local := time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC) // before the switch at 03:00 CEST
	expectVersion(mock, 15, 150)
	mock.ExpectQuery(NewestChangeQuery(ci, false)).WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}).AddRow(local, int64(120)))
	mock.ExpectQuery(NewestChangeQuery(ci, false)).WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}).AddRow(local, int64(60)))
	later := time.Date(2024, 10, 27, 9, 0, 0, 0, time.UTC)
	mock.ExpectQuery(NewestChangeQuery(ci, false)).WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}).AddRow(later, int64(60)))

	want := time.Date(2024, 10, 26, 22, 30, 0, 0, time.UTC)
	for i, w := range []time.Time{want, want, time.Date(2024, 10, 27, 8, 0, 0, 0, time.UTC)} {
		got, ok, err := db.NewestChange(context.Background(), ci)
		if err != nil || !ok || !got.Equal(w) {
			t.Errorf("read %d: got %v (ok %v, err %v), want %v", i, got, ok, err, w)
		}
	}
}

// With CURRENT_TIMEZONE_ID() (2022, Azure SQL) the offset in force at the
// change's own time comes from the server's time zone rules.
func TestNewestChangeUsesTheServersZoneWhereItCanNameIt(t *testing.T) {
	db, mock := mockSQLServer(t)
	ci := CaptureInstance{Name: "dbo_orders", Key: []string{"id"}}
	expectVersion(mock, 16, 160)
	mock.ExpectQuery(TimeZoneQuery).WillReturnRows(sqlmock.NewRows([]string{"tz"}).AddRow("W. Europe Standard Time"))
	local := time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC)
	mock.ExpectQuery(NewestChangeQuery(ci, true)).WithArgs(sql.Named("tz", "W. Europe Standard Time")).
		WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}).AddRow(local, int64(120)))
	got, ok, err := db.NewestChange(context.Background(), ci)
	if err != nil || !ok || !got.Equal(time.Date(2024, 10, 26, 22, 30, 0, 0, time.UTC)) {
		t.Fatalf("got %v (ok %v, err %v)", got, ok, err)
	}
	if in, _ := db.SQLServerInfo(context.Background()); in.TimeZone != "W. Europe Standard Time" || in.Version.Major != 16 {
		t.Errorf("info %+v", in)
	}
}

// An idle, caught-up table whose newest changes are deletes (or rows
// inserted and then deleted): the query finds no visible change, and the
// newest change is "none", which the lag reports as 0.
func TestNewestChangeAfterOnlyDeletesIsNone(t *testing.T) {
	db, mock := mockSQLServer(t)
	ci := CaptureInstance{Name: "dbo_orders", Key: []string{"id"}}
	expectVersion(mock, 13, 130)
	mock.ExpectQuery(NewestChangeQuery(ci, false)).WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}))
	if _, ok, err := db.NewestChange(context.Background(), ci); ok || err != nil {
		t.Fatalf("ok %v err %v: want no visible change", ok, err)
	}
	q := NewestChangeQuery(ci, false)
	for _, want := range []string{"PARTITION BY t.[id]", "w.cdc_rn = 1 AND w.__$operation <> 1", "TOP (1000)"} {
		if !strings.Contains(q, want) {
			t.Errorf("query lacks %q: %s", want, q)
		}
	}
}

func TestCaptureLatencyComesFromTheNewestSession(t *testing.T) {
	db, mock := mockSQLServer(t)
	mock.ExpectQuery(CDCEnabledQuery).WillReturnRows(sqlmock.NewRows([]string{"is_cdc_enabled"}).AddRow(true))
	mock.ExpectQuery(LogReuseWaitQuery).WillReturnRows(sqlmock.NewRows([]string{"w"}).AddRow("REPLICATION"))
	end := time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC)
	mock.ExpectQuery(CaptureScanQuery).WillReturnRows(sqlmock.NewRows([]string{"latency", "end", "tz"}).AddRow(0.0, end, int64(120)))
	mock.ExpectQuery(CDCJobsQuery).WillReturnRows(sqlmock.NewRows([]string{"job_type", "pollinginterval", "retention"}))
	mock.ExpectQuery(CDCErrorsQuery).WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(int64(0)))
	expectVersion(mock, 15, 150)
	mock.ExpectQuery(MaxLSNTimeQuery(false)).WillReturnRows(sqlmock.NewRows([]string{"t", "tz"}).AddRow(nil, int64(120)))
	h := db.SQLServerHealth(context.Background())
	if h.Err != nil {
		t.Fatal(h.Err)
	}
	if h.Latency == nil || *h.Latency != 0 {
		t.Errorf("latency %v, want the newest session's 0", h.Latency)
	}
	if h.LastScan == nil || !h.LastScan.Equal(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("last scan %v", h.LastScan)
	}
	if h.LogWaitsForCapture == nil || !*h.LogWaitsForCapture {
		t.Errorf("log waiting for capture %v", h.LogWaitsForCapture)
	}
}

// Before the first finished scan session since a restart or failover the
// view has no such row: nothing is known to be waiting for capture.
func TestCaptureLatencyBeforeTheFirstSession(t *testing.T) {
	for name, rows := range map[string]*sqlmock.Rows{
		"no session":   sqlmock.NewRows([]string{"latency"}),
		"35s":          sqlmock.NewRows([]string{"latency"}).AddRow(int64(35)),
		"NULL latency": sqlmock.NewRows([]string{"latency"}).AddRow(nil),
	} {
		t.Run(name, func(t *testing.T) {
			db, mock := mockSQLServer(t)
			mock.ExpectQuery(CaptureLatencyQuery).WillReturnRows(rows)
			want := time.Duration(0)
			if name == "35s" {
				want = 35 * time.Second
			}
			if d, err := db.CaptureLatency(context.Background()); err != nil || d != want {
				t.Errorf("got %v, %v; want %v", d, err, want)
			}
		})
	}
}
