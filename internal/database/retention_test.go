package database

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The source retention reads, pinned as written from Microsoft's
// documentation of cdc.lsn_time_mapping, sys.fn_cdc_get_max_lsn,
// sys.fn_cdc_map_lsn_to_time, sys.fn_cdc_get_min_lsn and msdb.dbo.cdc_jobs.
func TestGoldenSourceRetentionTSQL(t *testing.T) {
	testenv.Golden(t, "tsql/source-position.sql", SQLServerPositionQuery)
	testenv.Golden(t, "tsql/capture-instances-min-lsn.sql", CaptureInstancesQuery)
}

func TestSQLServerRetentionReadsTheCommitTimesAroundThePosition(t *testing.T) {
	db, mock := mockSQLServer(t)
	lsn, _ := retention.ParseLSN("0000002b:000002e3:0003")
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	mock.ExpectQuery(SQLServerPositionQuery).WithArgs("0000002b000002e30003").WillReturnRows(
		sqlmock.NewRows([]string{"retention", "newest", "at", "next"}).AddRow(int64(4320), at.Add(time.Hour), at, nil))
	src, err := db.SQLServerRetention(context.Background(), lsn)
	if err != nil {
		t.Fatal(err)
	}
	if !src.HasCleanup || src.Retention != 72*time.Hour || src.Next != nil || src.CommittedAt == nil || !src.Newest.Equal(at.Add(time.Hour)) {
		t.Fatalf("read %+v", src)
	}
}

func TestSQLServerRetentionWithoutPermissionNamesWhatFailed(t *testing.T) {
	db, mock := mockSQLServer(t)
	mock.ExpectQuery(SQLServerPositionQuery).WithArgs(sqlmock.AnyArg()).WillReturnError(permissionDenied)
	_, err := db.SQLServerRetention(context.Background(), retention.LSN{})
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "cleanup retention") {
		t.Fatalf("error %v, want a permission error naming the read", err)
	}
}

func TestCaptureInstancesRejectsAMinLSNThatIsNotTenBytes(t *testing.T) {
	db, mock := mockSQLServer(t)
	mock.ExpectQuery(CaptureInstancesQuery).WillReturnRows(sqlmock.NewRows([]string{"s", "t", "ci", "min", "created"}).
		AddRow("dbo", "orders", "dbo_orders", []byte{1, 2, 3}, time.Now()))
	_, err := db.CaptureInstances(context.Background())
	if err == nil || !strings.Contains(err.Error(), "fn_cdc_get_min_lsn(dbo_orders)") {
		t.Fatalf("error %v, want one naming the capture instance", err)
	}
}

func mockPostgres(t *testing.T) (*DB, sqlmock.Sqlmock) {
	t.Helper()
	return mockDB(t, config.Database{Name: "inventory", Driver: config.DriverPostgres})
}

func TestSlotRetentionBeforePostgreSQL13SaysWhatItNeeds(t *testing.T) {
	db, mock := mockPostgres(t)
	mock.ExpectQuery(SlotRetentionQuery).WithArgs("debezium").WillReturnError(&pgconn.PgError{Code: "42703", Message: `column s.wal_status does not exist`})
	_, err := db.SlotRetention(context.Background(), "debezium")
	if err == nil || !strings.Contains(err.Error(), "needs PostgreSQL 13 or later") {
		t.Fatalf("error %v, want one naming PostgreSQL 13", err)
	}
}
