package lag

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag/lagtest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// position is a SQL Server source's committed position lsn in db.
func position(t testing.TB, db *database.DB, lsn string) LSNPosition {
	t.Helper()
	parsed, err := retention.ParseLSN(lsn)
	if err != nil {
		t.Fatal(err)
	}
	return LSNPosition{DB: db, LSN: parsed}
}

// expectLSNTimes answers the mapping of lsn with the two commit times
// (nil: not mapped).
func expectLSNTimes(mock sqlmock.Sqlmock, lsn string, committed, newest any) {
	mock.ExpectQuery(regexp.QuoteMeta(database.LSNTimesQuery)).WithArgs(strings.ReplaceAll(lsn, ":", "")).
		WillReturnRows(sqlmock.NewRows([]string{"c", "n"}).AddRow(committed, newest))
}

func readerOf(dbs ...*database.DB) *Reader {
	byName := map[string]*database.DB{}
	for _, db := range dbs {
		byName[db.Name()] = db
	}
	return NewReader(byName, nil)
}

func TestSQLServerOffsetLagIsTheNewestCommitMinusTheCommitted(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name              string
		committed, newest any
		want              time.Duration
		wantOK            bool
	}{
		{"behind", at, at.Add(42 * time.Second), 42 * time.Second, true},
		{"committed the newest change, source idle for hours", at, at, 0, true},
		{"a committed time after the newest is caught up, not negative", at.Add(time.Second), at, 0, true},
		{"LSN no longer mapped", nil, at, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, mock := lagtest.MockDB(t, "erp", config.DriverSQLServer)
			expectLSNTimes(mock, "0000002b:000002e3:0003", tc.committed, tc.newest)
			got, ok, err := readerOf(db).SQLServerOffsetLag(context.Background(), []LSNPosition{position(t, db, "0000002b:000002e3:0003")})
			if err != nil || ok != tc.wantOK || got != tc.want {
				t.Errorf("got %v ok %v err %v, want %v ok %v", got, ok, err, tc.want, tc.wantOK)
			}
		})
	}
}

// The offset lag of a SQL Server connector is the worst over the
// databases it has committed positions in, each position compared with
// its own database's newest change; a position whose LSN no longer maps
// to a time counts for nothing. The truth is computed directly from the
// generated times (seeded; OFFSET_LAG_SEED replays one).
func TestSQLServerOffsetLagAgainstAnOracle(t *testing.T) {
	seeds := oracleSeeds(t, "OFFSET_LAG_SEED", 200)
	start := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, seed := range seeds {
		rng := rand.New(rand.NewPCG(seed, seed))
		var dbs []*database.DB
		var mocks []sqlmock.Sqlmock
		for i := range rng.IntN(3) + 1 {
			pool, mock, err := sqlmock.New()
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			mock.MatchExpectationsInOrder(false)
			dbs = append(dbs, database.NewWithPool(config.Database{Name: fmt.Sprintf("db%d", i), Driver: config.DriverSQLServer, MaxOpenConns: 1, QueryTimeout: time.Second}, pool))
			mocks = append(mocks, mock)
		}
		var positions []LSNPosition
		var want time.Duration
		wantOK := false
		for i := range rng.IntN(5) {
			lsn := fmt.Sprintf("%08x:%08x:%04x", seed&0xffff, i, rng.IntN(1<<16))
			d := rng.IntN(len(dbs))
			positions = append(positions, position(t, dbs[d], lsn))
			committed := start.Add(time.Duration(rng.IntN(120_000)) * time.Millisecond)
			newest := start.Add(time.Duration(rng.IntN(120_000)) * time.Millisecond)
			if rng.IntN(6) == 0 {
				expectLSNTimes(mocks[d], lsn, nil, newest)
				continue
			}
			expectLSNTimes(mocks[d], lsn, committed, newest)
			want, wantOK = max(want, max(newest.Sub(committed), 0)), true
		}
		got, ok, err := readerOf(dbs...).SQLServerOffsetLag(context.Background(), positions)
		if err != nil || got != want || ok != wantOK {
			t.Fatalf("seed %d (OFFSET_LAG_SEED=%d replays it): got %v ok %v err %v, want %v ok %v; positions %v", seed, seed, got, ok, err, want, wantOK, positions)
		}
		for i, mock := range mocks {
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Fatalf("seed %d (OFFSET_LAG_SEED=%d replays it): database db%d: %v", seed, seed, i, err)
			}
		}
	}
}

func postgresOffset(committed time.Time) connect.Offset {
	return connect.Offset{Partition: map[string]any{"server": "inv"}, Offset: map[string]any{"ts_usec": float64(committed.UnixMicro()), "lsn": 123.0}}
}

func expectLastCommit(mock sqlmock.Sqlmock, v any) {
	mock.ExpectQuery(regexp.QuoteMeta(database.LastCommitQuery)).WillReturnRows(sqlmock.NewRows([]string{"t"}).AddRow(v))
}

func TestPostgresOffsetLagReadsTheLastCommit(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	db, mock := lagtest.MockDB(t, "src", config.DriverPostgres)
	expectLastCommit(mock, at.Add(7*time.Second))
	got, ok, err := readerOf(db).PostgresOffsetLag(context.Background(), db, postgresOffset(at), []config.Table{lagtest.OrdersTable()})
	if err != nil || !ok || got != 7*time.Second {
		t.Errorf("got %v ok %v err %v, want 7s", got, ok, err)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
}

// Without track_commit_timestamp the newest change is the newest source
// timestamp among the database's configured tables: the same index read
// table lag makes, through the same pool.
func TestPostgresOffsetLagWithoutCommitTimestampsReadsTheTables(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	db, mock := lagtest.MockDB(t, "src", config.DriverPostgres)
	expectLastCommit(mock, nil)
	lagtest.ExpectMax(db, mock, lagtest.OrdersSource, "updated_at", at.Add(5*time.Second))
	noTime := lagtest.OrdersTable()
	noTime.Name, noTime.Source.Table, noTime.SourceTimestampColumn = "no_time", "inventory.no_time", ""
	elsewhere := lagtest.OrdersTable()
	elsewhere.Name, elsewhere.Source.Database = "elsewhere", "other"
	got, ok, err := readerOf(db).PostgresOffsetLag(context.Background(), db, postgresOffset(at), []config.Table{noTime, lagtest.OrdersTable(), elsewhere})
	if err != nil || !ok || got != 5*time.Second {
		t.Errorf("got %v ok %v err %v, want 5s", got, ok, err)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
}

func TestPostgresOffsetLagUnknownWithoutATimeToCompare(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	t.Run("no ts_usec in the offset", func(t *testing.T) {
		db, mock := lagtest.MockDB(t, "src", config.DriverPostgres)
		off := connect.Offset{Offset: map[string]any{"lsn": 123.0}}
		if _, ok, err := readerOf(db).PostgresOffsetLag(context.Background(), db, off, nil); ok || err != nil {
			t.Errorf("ok %v err %v, want unknown", ok, err)
		}
		if err := mock.ExpectationsWereMet(); err != nil {
			t.Error(err)
		}
	})
	t.Run("no commit timestamps and no timestamped table", func(t *testing.T) {
		db, mock := lagtest.MockDB(t, "src", config.DriverPostgres)
		expectLastCommit(mock, nil)
		if _, ok, err := readerOf(db).PostgresOffsetLag(context.Background(), db, postgresOffset(at), nil); ok || err != nil {
			t.Errorf("ok %v err %v, want unknown", ok, err)
		}
	})
}

// Offset lag takes its database's slots of the reader like table lag: with
// every slot held, it waits for one only as long as its context lets it,
// and sends no query.
func TestOffsetLagWaitsForTheReadersPool(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, driver := range []string{config.DriverSQLServer, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			db, mock := lagtest.MockDB(t, "src", driver)
			r := readerOf(db)
			for range db.Config().MaxOpenConns {
				release, err := r.acquire(context.Background(), "src")
				if err != nil {
					t.Fatal(err)
				}
				defer release()
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var err error
			if driver == config.DriverSQLServer {
				_, _, err = r.SQLServerOffsetLag(ctx, []LSNPosition{position(t, db, "0000002b:000002e3:0003")})
			} else {
				_, _, err = r.PostgresOffsetLag(ctx, db, postgresOffset(at), nil)
			}
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for a connection to src") {
				t.Errorf("error %v, want the wait for a slot to end with the context", err)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestOffsetLagOfADatabaseTheReaderWasNotGivenIsAnError(t *testing.T) {
	db, _ := lagtest.MockDB(t, "erp", config.DriverSQLServer)
	_, _, err := NewReader(nil, nil).SQLServerOffsetLag(context.Background(), []LSNPosition{position(t, db, "0000002b:000002e3:0003")})
	if err == nil || !strings.Contains(err.Error(), `database "erp" is not one the lag reader was given`) {
		t.Errorf("error %v", err)
	}
}
