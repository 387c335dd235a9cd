package lag

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// A slot's lag, read from the two positions as PostgreSQL prints them,
// against the truth pg_wal_lsn_diff(position, confirmed_flush_lsn)::float8
// computes: the exact difference of the two numbers, rounded once to the
// nearest float64.
func TestSlotLagBytesAgreesWithPgWalLsnDiff(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 0))
	position := func() (string, *big.Int) {
		n := r.Uint64() >> r.IntN(64)
		return fmt.Sprintf("%X/%X", n>>32, n&0xFFFFFFFF), new(big.Int).SetUint64(n)
	}
	for i := 0; i < 20000; i++ {
		atText, at := position()
		confirmedText, confirmed := position()
		if r.IntN(4) == 0 { // a consumer close behind, the usual case
			confirmedText, confirmed = atText, new(big.Int).Set(at)
		}
		s := database.Slot{Position: mustWAL(t, atText), ConfirmedFlush: mustWAL(t, confirmedText)}
		got, ok := SlotLagBytes(s)
		want, _ := new(big.Float).SetInt(new(big.Int).Sub(at, confirmed)).Float64()
		if !ok || got != want {
			t.Fatalf("seed %d: lag of %s confirmed to %s = %v (%v), want %v", seed, atText, confirmedText, got, ok, want)
		}
	}
}

func TestSlotLagBytesIsUnknownWithoutBothPositions(t *testing.T) {
	p := retention.WALPosition(42)
	for _, s := range []database.Slot{{}, {Position: &p}, {ConfirmedFlush: &p}} {
		if b, ok := SlotLagBytes(s); ok {
			t.Errorf("lag %v from %+v, want none", b, s)
		}
	}
}

func mustWAL(t *testing.T, s string) *retention.WALPosition {
	t.Helper()
	p, err := retention.ParseWALPosition(s)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}
