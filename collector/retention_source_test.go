package collector

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database/databasetest"
)

func mockDB(t *testing.T, cfg config.Database) (*database.DB, sqlmock.Sqlmock) {
	t.Helper()
	pool, mock := databasetest.Mock(t)
	return database.NewWithPool(cfg, pool), mock
}

func sqlServerSource(name string, tables string) connect.Connector {
	c := conn(name, "source", connectorkind.ClassSQLServer, "RUNNING")
	c.Info.Config["table.include.list"] = tables
	return c
}

func committedAt(lsn string) []connect.Offset {
	return []connect.Offset{{
		Partition: map[string]any{"server": "erp", "database": "erp"},
		Offset:    map[string]any{"commit_lsn": lsn, "change_lsn": lsn, "event_serial_no": 1.0},
	}}
}

var instanceColumns = []string{"schema", "table", "capture_instance", "min_lsn", "create_date"}

func lsnBytes(vlf byte) []byte { return []byte{0, 0, 0, vlf, 0, 0, 0, 0, 0, 1} }

func TestSourceRetentionSQLServerHeadroomAndLossOfTheCapturedTables(t *testing.T) {
	db, mock := mockDB(t, config.Database{Name: "erp", Driver: config.DriverSQLServer, Connectors: []string{"erp-source"}})
	day := func(d, h int) time.Time { return time.Date(2024, 5, d, h, 0, 0, 0, time.UTC) }
	mock.ExpectQuery(database.SQLServerPositionQuery).WithArgs("0000002b000002e30003").WillReturnRows(
		sqlmock.NewRows([]string{"retention", "newest", "at", "next"}).AddRow(int64(4320), day(3, 12), day(1, 11), day(1, 12)))
	mock.ExpectQuery(database.CaptureInstancesQuery).WillReturnRows(sqlmock.NewRows(instanceColumns).
		AddRow("dbo", "orders", "dbo_orders", lsnBytes(0x2c), day(1, 0)).
		AddRow("dbo", "audit", "dbo_audit", lsnBytes(0x2c), day(1, 0)). // not captured by this connector
		AddRow(nil, nil, "dbo_dropped", lsnBytes(0x2c), day(1, 0)))
	cl := &fakeOffsets{
		fakeCluster: &fakeCluster{name: "prod", conns: []connect.Connector{sqlServerSource("erp-source", "dbo.orders")}},
		offsets:     map[string][]connect.Offset{"erp-source": committedAt("0000002b:000002e3:0003")},
	}
	out := collect(t, context.Background(), NewSourceRetentionCollector([]*database.DB{db}, cl))
	for _, want := range []string{
		// 72 h retention, oldest unread transaction 48 h old.
		`cdc_source_retention_headroom_seconds{connect_cluster="prod",connector="erp-source"} 86400`,
		`cdc_source_retention_seconds{connect_cluster="prod",connector="erp-source"} 259200`,
		`cdc_source_changes_lost{connect_cluster="prod",connector="erp-source"} 1`,
		`cdc_scrape_collector_success{collector="source_retention"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
}

func TestSourceRetentionSQLServerBeforeTheFirstCommittedPositionSaysNothing(t *testing.T) {
	db, _ := mockDB(t, config.Database{Name: "erp", Driver: config.DriverSQLServer, Connectors: []string{"erp-source"}})
	cl := &fakeOffsets{
		fakeCluster: &fakeCluster{name: "prod", conns: []connect.Connector{sqlServerSource("erp-source", "dbo.orders")}},
		offsets: map[string][]connect.Offset{"erp-source": {{
			Partition: map[string]any{"server": "erp", "database": "erp"},
			Offset:    map[string]any{"snapshot": true, "snapshot_completed": false},
		}}},
	}
	out := collect(t, context.Background(), NewSourceRetentionCollector([]*database.DB{db}, cl))
	if strings.Contains(out, "cdc_source_") {
		t.Errorf("series before any committed position:\n%s", out)
	}
}

func TestSourceRetentionADeadDatabaseBlanksOnlyItsConnector(t *testing.T) {
	dead, deadMock := mockDB(t, config.Database{Name: "erp", Driver: config.DriverSQLServer, Connectors: []string{"erp-source"}})
	deadMock.ExpectQuery(database.SQLServerPositionQuery).WithArgs(sqlmock.AnyArg()).WillReturnError(errors.New("connection refused"))
	pg, pgMock := mockDB(t, config.Database{Name: "inventory", Driver: config.DriverPostgres, Connectors: []string{"inv-source"}})
	pgMock.ExpectQuery(database.SlotRetentionQuery).WithArgs("debezium").WillReturnRows(
		sqlmock.NewRows([]string{"found", "wal_status", "safe", "pos", "limit"}).AddRow(true, "reserved", 1e9, 5e9, 2e9))
	cl := &fakeOffsets{
		fakeCluster: &fakeCluster{name: "prod", conns: []connect.Connector{
			sqlServerSource("erp-source", "dbo.orders"),
			conn("inv-source", "source", connectorkind.ClassPostgres, "RUNNING"),
		}},
		offsets: map[string][]connect.Offset{"erp-source": committedAt("0000002b:000002e3:0003")},
	}
	out := collect(t, context.Background(), NewSourceRetentionCollector([]*database.DB{dead, pg}, cl))
	for _, want := range []string{
		`cdc_source_retention_headroom_bytes{connect_cluster="prod",connector="inv-source"} 1e+09`,
		`cdc_source_retention_limit_bytes{connect_cluster="prod",connector="inv-source"} 2e+09`,
		`cdc_source_wal_position_bytes{connect_cluster="prod",connector="inv-source"} 5e+09`,
		`cdc_source_changes_lost{connect_cluster="prod",connector="inv-source"} 0`,
		`cdc_scrape_collector_success{collector="source_retention"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `connector="erp-source"`) {
		t.Errorf("the dead database's connector has series:\n%s", out)
	}
}

func TestSourceRetentionPostgresSlotLostAndUnlimited(t *testing.T) {
	pg, pgMock := mockDB(t, config.Database{Name: "inventory", Driver: config.DriverPostgres, Connectors: []string{"inv-source", "unlimited-source", "new-source"}})
	pgMock.MatchExpectationsInOrder(false)
	pgMock.ExpectQuery(database.SlotRetentionQuery).WithArgs("inv_slot").WillReturnRows(
		sqlmock.NewRows([]string{"found", "wal_status", "safe", "pos", "limit"}).AddRow(true, "lost", nil, 5e9, 1e6))
	pgMock.ExpectQuery(database.SlotRetentionQuery).WithArgs("unlimited_slot").WillReturnRows(
		sqlmock.NewRows([]string{"found", "wal_status", "safe", "pos", "limit"}).AddRow(true, "reserved", nil, 5e9, nil))
	pgMock.ExpectQuery(database.SlotRetentionQuery).WithArgs("debezium").WillReturnRows(
		sqlmock.NewRows([]string{"found", "wal_status", "safe", "pos", "limit"}).AddRow(false, "", nil, 5e9, nil))
	withSlot := func(name, slot string) connect.Connector {
		c := conn(name, "source", connectorkind.ClassPostgres, "RUNNING")
		if slot != "" {
			c.Info.Config["slot.name"] = slot
		}
		return c
	}
	cl := &fakeOffsets{fakeCluster: &fakeCluster{name: "prod", conns: []connect.Connector{
		withSlot("inv-source", "inv_slot"), withSlot("unlimited-source", "unlimited_slot"), withSlot("new-source", ""),
	}}}
	out := collect(t, context.Background(), NewSourceRetentionCollector([]*database.DB{pg}, cl))
	for _, want := range []string{
		`cdc_source_changes_lost{connect_cluster="prod",connector="inv-source"} 1`,
		`cdc_source_retention_headroom_bytes{connect_cluster="prod",connector="inv-source"} 0`,
		`cdc_source_changes_lost{connect_cluster="prod",connector="unlimited-source"} 0`,
		`cdc_source_retention_headroom_bytes{connect_cluster="prod",connector="unlimited-source"} +Inf`,
		`cdc_source_retention_limit_bytes{connect_cluster="prod",connector="unlimited-source"} +Inf`,
		`cdc_source_wal_position_bytes{connect_cluster="prod",connector="new-source"} 5e+09`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `cdc_source_changes_lost{connect_cluster="prod",connector="new-source"}`) {
		t.Errorf("a slot not made yet was judged:\n%s", out)
	}
}

// countingOffsets counts GET /connectors/{n}/offsets.
type countingOffsets struct {
	*fakeOffsets
	calls atomic.Int64
}

func (c *countingOffsets) Offsets(ctx context.Context, name string) ([]connect.Offset, error) {
	c.calls.Add(1)
	return c.fakeOffsets.Offsets(ctx, name)
}

func TestOneScrapeReadsEachConnectorsOffsetsOnce(t *testing.T) {
	db, mock := mockDB(t, config.Database{Name: "erp", Driver: config.DriverSQLServer, Connectors: []string{"erp-source"}})
	mock.MatchExpectationsInOrder(false)
	mock.ExpectQuery(database.LSNTimesQuery).WithArgs("0000002b000002e30003").WillReturnRows(
		sqlmock.NewRows([]string{"c", "n"}).AddRow(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 12, 0, 30, 0, time.UTC)))
	mock.ExpectQuery(database.SQLServerPositionQuery).WithArgs("0000002b000002e30003").WillReturnRows(
		sqlmock.NewRows([]string{"retention", "newest", "at", "next"}).AddRow(int64(4320), time.Now(), nil, nil))
	mock.ExpectQuery(database.CaptureInstancesQuery).WillReturnRows(sqlmock.NewRows(instanceColumns))
	cl := &countingOffsets{fakeOffsets: &fakeOffsets{
		fakeCluster: &fakeCluster{name: "prod", conns: []connect.Connector{sqlServerSource("erp-source", "dbo.orders")}},
		offsets:     map[string][]connect.Offset{"erp-source": committedAt("0000002b:000002e3:0003")},
	}}
	out := collect(t, context.Background(), newOffsetsCollector([]*database.DB{db}, nil, cl), NewSourceRetentionCollector([]*database.DB{db}, cl))
	if got := cl.calls.Load(); got != 1 {
		t.Errorf("offsets read %d times in one scrape, want 1", got)
	}
	if !strings.Contains(out, `cdc_source_retention_headroom_seconds{connect_cluster="prod",connector="erp-source"} 259200`) {
		t.Errorf("a connector that has read everything keeps the full retention:\n%s", out)
	}
}
