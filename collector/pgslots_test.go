package collector

import (
	"context"
	"database/sql/driver"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database/databasetest"
)

// slotsDB is a PostgreSQL database whose pg_replication_slots read
// answers rows of slot_name, slot_type, plugin, active, the server's
// position, confirmed_flush_lsn, retained, wal_status, safe_wal_size.
func slotsDB(t *testing.T, rows ...[]driver.Value) *database.DB {
	t.Helper()
	pool, mock := databasetest.Mock(t)
	answer := sqlmock.NewRows([]string{"slot_name", "slot_type", "plugin", "active", "position", "confirmed", "retained", "wal_status", "safe_wal_size"})
	for _, r := range rows {
		answer.AddRow(r...)
	}
	mock.ExpectQuery(database.SlotsQuery).WillReturnRows(answer)
	return database.NewWithPool(config.Database{Name: "inventory", Driver: config.DriverPostgres}, pool)
}

// A slot's lag is the WAL between the server's position and what the
// consumer confirmed, as PostgreSQL prints both; a slot that has
// confirmed nothing yet has no lag series, and its other series stay.
func TestSlotsCollectorReportsEachSlotsLag(t *testing.T) {
	db := slotsDB(t,
		[]driver.Value{"behind", "logical", "pgoutput", true, "16/B374D848", "16/B3740000", 4096.0, "reserved", nil},
		[]driver.Value{"caught_up", "logical", "pgoutput", true, "0/1A2B3C", "0/1a2b3c", 0.0, "reserved", nil},
		[]driver.Value{"new", "logical", "pgoutput", false, "16/B374D848", nil, nil, "", nil})
	out := collect(t, context.Background(), NewSlotsCollector(db))
	for _, want := range []string{
		`cdc_replication_slot_lag_bytes{database="inventory",slot="behind"} 55368`,
		`cdc_replication_slot_lag_bytes{database="inventory",slot="caught_up"} 0`,
		`cdc_replication_slot_active{database="inventory",slot="new"} 0`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `cdc_replication_slot_lag_bytes{database="inventory",slot="new"}`) {
		t.Errorf("a slot that confirmed nothing has a lag:\n%s", out)
	}
}

// A position the server prints in a form that cannot be read fails the
// slots' read, naming the slot, instead of reporting a made-up lag.
func TestSlotsCollectorRefusesAnUnreadablePosition(t *testing.T) {
	db := slotsDB(t, []driver.Value{"odd", "logical", "pgoutput", true, "16/B374D848", "not-an-lsn", 0.0, "reserved", nil})
	err := NewSlotsCollector(db).Collect(context.Background(), make(chan prometheus.Metric, 8))
	if err == nil || !strings.Contains(err.Error(), "slot odd: confirmed_flush_lsn") || !strings.Contains(err.Error(), "not-an-lsn") {
		t.Fatalf("error %v, want one naming slot odd's confirmed_flush_lsn", err)
	}
}
