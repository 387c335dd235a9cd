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
	testenv.Golden(t, "tsql/pending-change-2016-2019.sql", PendingChangeQuery(orders, false))
	testenv.Golden(t, "tsql/pending-change-2022-azure.sql", PendingChangeQuery(orders, true))
	testenv.Golden(t, "tsql/pending-change-no-key.sql", PendingChangeQuery(CaptureInstance{Name: "dbo_log"}, false))
	testenv.Golden(t, "tsql/capture-latency.sql", CaptureLatencyQuery)
	testenv.Golden(t, "tsql/max-lsn-time-2016-2019.sql", MaxLSNTimeQuery(false))
	testenv.Golden(t, "tsql/max-lsn-time-2022-azure.sql", MaxLSNTimeQuery(true))
	testenv.Golden(t, "tsql/capture-scan.sql", CaptureScanQuery)
}

// An idle table across a daylight saving switch: the newest applied
// change stays the same while the server's offset moves from +2h to +1h.
// Debezium stamped the change with +2h when it read it; lag must keep
// making the applied time local with that offset, not the one at scrape
// time, or an idle, caught up table would show the hour before its
// newest change as pending (or hide an hour).
func TestPendingChangeKeepsTheOffsetOfCaptureAcrossDST(t *testing.T) {
	db, mock := mockSQLServer(t)
	ci := CaptureInstance{Name: "dbo_orders", Key: []string{"id"}}
	applied := time.Date(2024, 10, 26, 22, 30, 0, 0, time.UTC) // 00:30 CEST, before the switch at 03:00
	expectVersion(mock, 15, 150)
	q := PendingChangeQuery(ci, false)
	mock.ExpectQuery(q).WithArgs(sql.Named("applied", applied), sql.Named("offset", nil)).
		WillReturnRows(sqlmock.NewRows([]string{"age", "offset"}).AddRow(nil, int64(120)))
	// After the switch: the offset first used is sent again.
	mock.ExpectQuery(q).WithArgs(sql.Named("applied", applied), sql.Named("offset", int64(120))).
		WillReturnRows(sqlmock.NewRows([]string{"age", "offset"}).AddRow(nil, int64(120)))
	// A newer applied change is made local with the offset now.
	later := time.Date(2024, 10, 27, 8, 0, 0, 0, time.UTC)
	mock.ExpectQuery(q).WithArgs(sql.Named("applied", later), sql.Named("offset", nil)).
		WillReturnRows(sqlmock.NewRows([]string{"age", "offset"}).AddRow(nil, int64(60)))
	for i, a := range []time.Time{applied, applied, later} {
		if _, pending, err := db.PendingChange(context.Background(), ci, a); err != nil || pending {
			t.Errorf("read %d: pending %v, err %v; want caught up", i, pending, err)
		}
	}
}

// With CURRENT_TIMEZONE_ID() (2022, Azure SQL) the applied time is made
// local, and the pending change's age measured, with the server's time
// zone rules.
func TestPendingChangeUsesTheServersZoneWhereItCanNameIt(t *testing.T) {
	db, mock := mockSQLServer(t)
	ci := CaptureInstance{Name: "dbo_orders", Key: []string{"id"}}
	expectVersion(mock, 16, 160)
	mock.ExpectQuery(TimeZoneQuery).WillReturnRows(sqlmock.NewRows([]string{"tz"}).AddRow("W. Europe Standard Time"))
	applied := time.Date(2024, 10, 26, 22, 30, 0, 0, time.UTC)
	mock.ExpectQuery(PendingChangeQuery(ci, true)).
		WithArgs(sql.Named("applied", applied), sql.Named("offset", nil), sql.Named("tz", "W. Europe Standard Time")).
		WillReturnRows(sqlmock.NewRows([]string{"age", "offset"}).AddRow(int64(61000), int64(60)))
	age, pending, err := db.PendingChange(context.Background(), ci, applied)
	if err != nil || !pending || age != 61*time.Second {
		t.Fatalf("got %v (pending %v, err %v), want 61s pending", age, pending, err)
	}
	if in, _ := db.SQLServerInfo(context.Background()); in.TimeZone != "W. Europe Standard Time" || in.Version.Major != 16 {
		t.Errorf("info %+v", in)
	}
}

// What the target cannot show is left out: a key whose last change is a
// delete; and a run of deletes at either end of the unapplied range
// hides no pending insert or update, because the range is read from both
// ends (a purge of 1,000 rows or more while the sink is behind).
func TestPendingChangeReadsTheUnappliedRangeFromBothEnds(t *testing.T) {
	q := PendingChangeQuery(CaptureInstance{Name: "dbo_orders", Key: []string{"id"}}, false)
	for _, want := range []string{
		"WHERE __$start_lsn > (SELECT lsn FROM f) ORDER BY __$start_lsn, __$seqval) t",
		"WHERE __$start_lsn > (SELECT lsn FROM f) ORDER BY __$start_lsn DESC, __$seqval DESC) t",
		"PARTITION BY t.[id]", "w.cdc_rn = 1 AND w.__$operation <> 1", "TOP (1000)",
		"ORDER BY p.cdc_pass, p.lsn", "0x00000000000000000000",
	} {
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
