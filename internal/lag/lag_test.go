package lag

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/lag/lagtest"
)

// The watermark column may be epoch milliseconds (Debezium's ts_ms) or a
// timestamp / timestamptz (a TimestampConverter in the sink's
// transforms): the lag is the same either way.
func TestReadAcceptsEveryWatermarkType(t *testing.T) {
	newest := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	behind := newest.Add(-90 * time.Second)
	for name, wm := range map[string]any{
		"epoch milliseconds":             behind.UnixMilli(),
		"timestamptz":                    behind.In(time.FixedZone("CEST", 2*3600)),
		"timestamp read as UTC":          behind,
		"numeric milliseconds as []byte": []byte("1714564710000"),
	} {
		t.Run(name, func(t *testing.T) {
			src, smock := lagtest.MockDB(t, "src", config.DriverPostgres)
			tgt, tmock := lagtest.MockDB(t, "tgt", config.DriverPostgres)
			lagtest.ExpectMax(src, smock, lagtest.OrdersSource, "updated_at", newest)
			lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", wm)
			// The oldest change not applied is 10s after the applied one,
			// and 90s old on the source's clock.
			lagtest.ExpectOldestAfter(src, smock, lagtest.OrdersSource, "updated_at", newest.Add(10*time.Second), behind.Add(10*time.Second))
			r := NewReader(map[string]*database.DB{"src": src, "tgt": tgt}, nil)
			// No time passes between the two reads: the second sees the
			// same waiting change at the same age.
			stopped := time.Now()
			r.now = func() time.Time { return stopped }
			rd, err := r.Read(context.Background(), lagtest.OrdersTable(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !rd.Known || rd.Lag != 90*time.Second || !rd.Applied || !rd.LastApplied.Equal(behind) {
				t.Errorf("got %+v, want 90s behind %v", rd, behind)
			}
			// Read again, knowing the source column's kind: the oldest
			// pending change is all the source is asked.
			lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", wm)
			lagtest.ExpectOldestAfter(src, smock, lagtest.OrdersSource, "updated_at", newest.Add(10*time.Second), behind.Add(10*time.Second))
			if d, err := r.RecheckWait(context.Background(), lagtest.OrdersTable()); err != nil || d != 90*time.Second {
				t.Errorf("RecheckWait gave %v, %v; want the same 90s as Read (no margin)", d, err)
			}
		})
	}
}

func TestNoWaitBeforeAnythingWasApplied(t *testing.T) {
	src, smock := lagtest.MockDB(t, "src", config.DriverPostgres)
	tgt, tmock := lagtest.MockDB(t, "tgt", config.DriverPostgres)
	lagtest.ExpectMax(src, smock, lagtest.OrdersSource, "updated_at", time.Now())
	lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", nil)
	r := NewReader(map[string]*database.DB{"src": src, "tgt": tgt}, nil)
	if _, err := r.RecheckWait(context.Background(), lagtest.OrdersTable()); !errors.Is(err, ErrNothingApplied) {
		t.Fatalf("error %v, want ErrNothingApplied", err)
	}
	// Read again: the source's oldest change is all there is to read.
	lagtest.ExpectOldestAfter(src, smock, lagtest.OrdersSource, "updated_at", time.Now(), time.Now().Add(-time.Hour))
	lagtest.ExpectMax(tgt, tmock, lagtest.OrdersTarget, "__source_ts_ms", nil)
	if rd, err := r.Read(context.Background(), lagtest.OrdersTable(), nil); err != nil || !rd.Waiting || rd.Known {
		t.Fatalf("got %+v, %v; want waiting, no lag", rd, err)
	}
}

// A SQL Server source needs no source_timestamp_column: the change
// table is the source side, for the metric and for the drift recheck
// alike.
func TestSQLServerSourceLagFromTheChangeTable(t *testing.T) {
	r, tb, _ := sqlServerOrders(t)
	if !r.HasSourceTime(tb) {
		t.Fatal("a SQL Server source has no change time")
	}
	rd, err := r.Read(context.Background(), tb, nil)
	if err != nil || !rd.Known || rd.Lag != 42*time.Second {
		t.Fatalf("got %+v, %v; want 42s", rd, err)
	}
}

// A hot row behind a stuck sink shows only its newest change at the
// source; what was seen waiting before still waits while the target
// applies nothing, so the lag grows with time instead of staying at the
// seconds since the row's last change.
func TestAWaitingChangeKeepsItsAgeWhileNothingIsApplied(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	r := NewReader(nil, nil)
	r.now = func() time.Time { return clock }
	applied := time.Unix(999_000, 0)

	if got := r.stillWaiting("hot", applied, 500*time.Millisecond); got != 500*time.Millisecond {
		t.Fatalf("first sight: %v, want the source's 500ms", got)
	}
	// 10 s later the row changed again 300 ms ago; nothing was applied.
	clock = clock.Add(10 * time.Second)
	if got, want := r.stillWaiting("hot", applied, 300*time.Millisecond), 10500*time.Millisecond; got != want {
		t.Errorf("while stuck: %v, want %v (the change first seen waiting)", got, want)
	}
	// An older change shows at the source than the one remembered: it wins.
	if got, want := r.stillWaiting("hot", applied, time.Minute), time.Minute; got != want {
		t.Errorf("older change at the source: %v, want %v", got, want)
	}
	// The sink applied something: what was remembered may be applied.
	clock = clock.Add(time.Second)
	if got, want := r.stillWaiting("hot", applied.Add(time.Second), 200*time.Millisecond), 200*time.Millisecond; got != want {
		t.Errorf("after the target moved: %v, want the source's %v", got, want)
	}
	// Other tables are apart.
	if got := r.stillWaiting("other", applied, time.Second); got != time.Second {
		t.Errorf("another table: %v", got)
	}
}
