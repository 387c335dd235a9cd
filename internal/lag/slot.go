package lag

import "github.com/cdc-sentinel/cdc-sentinel/internal/database"

// SlotLagBytes is a logical replication slot's lag: the WAL the server
// has written (on a standby, received) that the slot's consumer has not
// confirmed, in bytes, as pg_wal_lsn_diff(position, confirmed_flush_lsn)
// gives it: negative when the consumer has confirmed past the position a
// standby has received. ok is false while either position is unknown.
// It is the one definition of cdc_replication_slot_lag_bytes; the slot's
// positions come from the read of pg_replication_slots the slot
// collector makes anyway.
func SlotLagBytes(s database.Slot) (bytes float64, ok bool) {
	if s.Position == nil || s.ConfirmedFlush == nil {
		return 0, false
	}
	// Subtracting the unsigned positions first keeps the difference
	// exact; the conversion then rounds it as PostgreSQL's numeric to
	// float8 does.
	at, confirmed := *s.Position, *s.ConfirmedFlush
	if at >= confirmed {
		return float64(at - confirmed), true
	}
	return -float64(confirmed - at), true
}
