package collector

import (
	"context"
	"database/sql"
	"math"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A real replication slot on a private PostgreSQL whose
// max_slot_wal_keep_size is 1 MB (a server setting: the shared
// pipeline's server is left alone): the slot has headroom, then WAL is
// written past the limit until the server invalidates the slot, and the
// connector reads as having lost changes.
func TestSourceRetentionOfARealSlotPastMaxSlotWALKeepSize(t *testing.T) {
	if !testenv.Integration() {
		t.Skip("CDC_INTEGRATION=1 runs the tests against real parts")
	}
	pg := testenv.StartPostgres(t, "wal_level=logical", "max_slot_wal_keep_size=1MB", "max_wal_size=32MB", "min_wal_size=32MB")
	pg.Psql(t, "postgres", "CREATE DATABASE retention_src")
	dsn := testenv.PostgresDSN(pg.Addr, "retention_src")
	db, err := database.Open(context.Background(), config.Database{
		Name: "retention_src", Driver: config.DriverPostgres, DSN: config.Secret(dsn), Connectors: []string{"slot-source"},
		MaxOpenConns: 2, MaxIdleConns: 2, ConnMaxLifetime: time.Minute, QueryTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	exec := func(q string) {
		t.Helper()
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE filler (id bigserial PRIMARY KEY, pad text)")
	exec("SELECT pg_create_logical_replication_slot('retention_slot', 'test_decoding')")

	source := conn("slot-source", "source", connectorkind.ClassPostgres, "RUNNING")
	source.Info.Config["slot.name"] = "retention_slot"
	cl := &fakeOffsets{fakeCluster: &fakeCluster{name: "local", conns: []connect.Connector{source}}}
	c := NewSourceRetentionCollector([]*database.DB{db}, cl)
	series := func(name string) string { return name + `{connect_cluster="local",connector="slot-source"}` }

	out := collect(t, context.Background(), c)
	if v, ok := metricValue(out, series("cdc_source_changes_lost")); !ok || v != 0 {
		t.Fatalf("a fresh slot reads as lost (%v, %v):\n%s", v, ok, out)
	}
	room, ok := metricValue(out, series("cdc_source_retention_headroom_bytes"))
	if !ok || room <= 0 || math.IsInf(room, 0) {
		t.Fatalf("a fresh slot under a 1 MB limit has headroom %v (%v):\n%s", room, ok, out)
	}
	if v, _ := metricValue(out, series("cdc_source_retention_limit_bytes")); v != 1<<20 {
		t.Errorf("limit %v, want 1 MiB", v)
	}
	start, _ := metricValue(out, series("cdc_source_wal_position_bytes"))

	// Each round writes WAL, switches to a new segment and checkpoints,
	// which is when the server removes old segments and invalidates slots
	// that need them.
	lost := func() bool {
		exec("INSERT INTO filler (pad) SELECT repeat('x', 500) FROM generate_series(1, 2000)")
		exec("SELECT pg_switch_wal()")
		exec("CHECKPOINT")
		var status string
		if err := raw.QueryRow("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'retention_slot'").Scan(&status); err != nil {
			t.Fatal(err)
		}
		return status == "lost"
	}
	testenv.Eventually(t, 2*time.Minute, lost, func() string { return "the slot was never invalidated" })

	out = collect(t, context.Background(), c)
	for name, want := range map[string]float64{"cdc_source_changes_lost": 1, "cdc_source_retention_headroom_bytes": 0} {
		if v, ok := metricValue(out, series(name)); !ok || v != want {
			t.Errorf("%s = %v (%v), want %v:\n%s", name, v, ok, want, out)
		}
	}
	if end, _ := metricValue(out, series("cdc_source_wal_position_bytes")); end <= start {
		t.Errorf("the WAL position did not move: %v then %v", start, end)
	}
}
