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
