package retention

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
)

// LSN is a SQL Server log sequence number, binary(10): a virtual log file
// number (4 bytes), a log block (4 bytes) and a slot (2 bytes), big
// endian, so that byte order is LSN order. It is the one parser of the
// LSNs Debezium writes in its offsets ("0000002b:000002e3:0003") and the
// server returns (binary(10)).
type LSN [10]byte

// ParseLSN reads an LSN written as Debezium writes it
// ("0000002b:000002e3:0003") or as 20 hex digits, with or without 0x.
func ParseLSN(s string) (LSN, error) {
	var l LSN
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if parts := strings.Split(h, ":"); len(parts) == 3 {
		if len(parts[0]) != 8 || len(parts[1]) != 8 || len(parts[2]) != 4 {
			return l, fmt.Errorf("%q is not an LSN of the form 0000002b:000002e3:0003", s)
		}
		h = parts[0] + parts[1] + parts[2]
	}
	if len(h) != 20 {
		return l, fmt.Errorf("%q is not an LSN of the form 0000002b:000002e3:0003", s)
	}
	if _, err := hex.Decode(l[:], []byte(h)); err != nil {
		return l, fmt.Errorf("%q is not an LSN of the form 0000002b:000002e3:0003", s)
	}
	return l, nil
}

// LSNFromBytes takes a binary(10) as the driver returns it.
func LSNFromBytes(b []byte) (LSN, error) {
	var l LSN
	if len(b) != len(l) {
		return l, fmt.Errorf("an LSN is 10 bytes, got %d", len(b))
	}
	copy(l[:], b)
	return l, nil
}

// String writes the LSN as Debezium does.
func (l LSN) String() string {
	h := hex.EncodeToString(l[:])
	return h[:8] + ":" + h[8:16] + ":" + h[16:]
}

// Hex is the 20 hex digits T-SQL's CONVERT(binary(10), @p, 2) reads.
func (l LSN) Hex() string { return hex.EncodeToString(l[:]) }

// Compare orders two LSNs: -1, 0 or +1.
func (l LSN) Compare(o LSN) int { return bytes.Compare(l[:], o[:]) }

// IsZero reports the all-zero LSN, which fn_cdc_get_min_lsn returns for a
// capture instance that does not exist or that the caller may not read.
func (l LSN) IsZero() bool { return l == LSN{} }

// WALPosition is a PostgreSQL WAL location (pg_lsn): bytes since the
// start of the WAL.
type WALPosition uint64

// ParseWALPosition reads a pg_lsn as PostgreSQL prints it ("16/B374D848").
func ParseWALPosition(s string) (WALPosition, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("%q is not a WAL position of the form 16/B374D848", s)
	}
	var v uint64
	for _, part := range []string{hi, lo} {
		var n uint64
		for _, c := range part {
			d, ok := hexDigit(c)
			if !ok {
				return 0, fmt.Errorf("%q is not a WAL position of the form 16/B374D848", s)
			}
			n = n<<4 | uint64(d)
		}
		v = v<<32 | n
	}
	return WALPosition(v), nil
}

func hexDigit(c rune) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return byte(c - '0'), true
	case c >= 'a' && c <= 'f':
		return byte(c - 'a' + 10), true
	case c >= 'A' && c <= 'F':
		return byte(c - 'A' + 10), true
	}
	return 0, false
}

// CommittedLSN is the position a Debezium SQL Server source's offset says
// it has committed: commit_lsn, the commit LSN of the last transaction it
// sent (it may have sent only part of it; change_lsn and event_serial_no
// say how far, and the transaction's rows are all at commit_lsn). ok is
// false when the offset has no commit_lsn yet; an unreadable one is an
// error naming it.
func CommittedLSN(offset map[string]any) (lsn LSN, ok bool, err error) {
	v, present := offset["commit_lsn"]
	if !present || v == nil {
		return LSN{}, false, nil
	}
	s, isString := v.(string)
	if !isString {
		return LSN{}, false, fmt.Errorf("offset commit_lsn %v is not a string", v)
	}
	if s == "" {
		return LSN{}, false, nil
	}
	lsn, err = ParseLSN(s)
	if err != nil {
		return LSN{}, false, fmt.Errorf("offset commit_lsn: %w", err)
	}
	return lsn, true, nil
}

// Unlimited is the headroom of a limit that never removes anything (no
// SQL Server cleanup job, max_slot_wal_keep_size = -1).
var Unlimited = math.Inf(1)

// SQLServerSource is what decides a Debezium SQL Server source's headroom
// and loss, as read from its database; all times are the server's local
// clock, as the cleanup job compares them.
//
// The cleanup job (Microsoft's "Cleanup Job") takes the newest
// tran_end_time in cdc.lsn_time_mapping, subtracts the retention, maps
// that time to an LSN (the low watermark) and deletes the change rows
// below it, moving every capture instance's start_lsn (what
// fn_cdc_get_min_lsn returns) up to it.
type SQLServerSource struct {
	// Retention is the cleanup job's (msdb.dbo.cdc_jobs.retention);
	// HasCleanup is false when the database has no cleanup job, which
	// then removes nothing.
	Retention  time.Duration
	HasCleanup bool
	// Committed is the connector's committed commit_lsn.
	Committed LSN
	// Newest is the newest tran_end_time in cdc.lsn_time_mapping, the
	// clock the cleanup job measures retention on.
	Newest time.Time
	// Next is the commit time of the first transaction committed later
	// than Committed's commit time (the oldest change the cleanup job can
	// take from the connector); nil when there is none: the connector has
	// read everything. Transactions sharing Committed's commit time do not
	// count: the low watermark is the smallest LSN of the entries sharing
	// its time, so it never lands between them.
	Next *time.Time
	// CommittedAt is the commit time of Committed; nil when its row in
	// cdc.lsn_time_mapping is gone.
	CommittedAt *time.Time
	// Instances are the capture instances of the tables the connector
	// captures.
	Instances []CaptureInstance
}

// CaptureInstance is one capture instance of a captured table.
type CaptureInstance struct {
	Table   string // schema.table
	Name    string
	MinLSN  LSN       // fn_cdc_get_min_lsn
	Created time.Time // cdc.change_tables.create_date
}

// SourceVerdict is the answer for one source connector.
type SourceVerdict struct {
	// HeadroomSeconds is how long until the cleanup job may delete a
	// change the connector has not read (negative once it may have; the
	// deletion itself happens at the job's next run). Unlimited without
	// a cleanup job.
	HeadroomSeconds float64
	// Lost: the connector's committed position is below what the source
	// still keeps, so it cannot resume without missing changes.
	Lost bool
	// LostTables names the tables whose changes are gone, for messages.
	LostTables []string
}

// Judge decides headroom and loss. Headroom is the retention minus the
// age, on the cleanup job's clock, of Next: once that age reaches the
// retention, the next cleanup run moves the low watermark past the
// committed position and Next's rows go (0 or less: the next run
// deletes). With nothing after the committed position the full retention
// is left however long the source has been idle, since a low watermark
// cannot pass an LSN no newer entry follows.
//
// Loss: a captured table's capture instances all start above the
// committed position (the lowest fn_cdc_get_min_lsn of a table's
// instances counts, as a table has two during a schema change). An
// instance created after the committed position starts above it without
// anything lost, so it counts only when it existed then; when the
// committed position's own time is gone (cleaned up), every instance
// counts.
func (s SQLServerSource) Judge() SourceVerdict {
	v := SourceVerdict{HeadroomSeconds: Unlimited}
	if s.HasCleanup {
		v.HeadroomSeconds = s.Retention.Seconds()
		if s.Next != nil {
			v.HeadroomSeconds -= max(0, s.Newest.Sub(*s.Next)).Seconds()
		}
	}
	lowest := map[string]LSN{}
	var order []string
	for _, ci := range s.Instances {
		if ci.MinLSN.IsZero() {
			continue // not readable: nothing to say
		}
		if s.CommittedAt != nil && ci.Created.After(*s.CommittedAt) {
			continue // born after the position: starts above it by nature
		}
		cur, seen := lowest[ci.Table]
		if !seen {
			order = append(order, ci.Table)
		}
		if !seen || ci.MinLSN.Compare(cur) < 0 {
			lowest[ci.Table] = ci.MinLSN
		}
	}
	for _, t := range order {
		if lowest[t].Compare(s.Committed) > 0 {
			v.Lost = true
			v.LostTables = append(v.LostTables, t)
		}
	}
	return v
}

// Worse combines the verdicts of a connector's databases: the least
// headroom, loss if any lost.
func (v SourceVerdict) Worse(o SourceVerdict) SourceVerdict {
	return SourceVerdict{
		HeadroomSeconds: min(v.HeadroomSeconds, o.HeadroomSeconds),
		Lost:            v.Lost || o.Lost,
		LostTables:      append(append([]string(nil), v.LostTables...), o.LostTables...),
	}
}

// PostgresSlot is a Debezium PostgreSQL source's replication slot as read
// from pg_replication_slots (PostgreSQL 13+).
type PostgresSlot struct {
	// WALStatus is reserved, extended, unreserved or lost.
	WALStatus string
	// SafeWALSize is how much more WAL can be written before the slot is
	// in danger of losing what it needs; nil without a limit
	// (max_slot_wal_keep_size = -1) and once lost.
	SafeWALSize *float64
}

// SlotVerdict is the answer for a PostgreSQL source's slot.
type SlotVerdict struct {
	// HeadroomBytes is the WAL that can still be written before the slot
	// may lose what the connector needs: 0 once lost or past the limit
	// (unreserved), Unlimited without a limit.
	HeadroomBytes float64
	// Lost: the server removed WAL the slot needed (wal_status = lost);
	// the connector cannot resume from it.
	Lost bool
}

// Judge decides the slot's headroom and loss.
func (s PostgresSlot) Judge() SlotVerdict {
	switch {
	case s.WALStatus == "lost":
		return SlotVerdict{HeadroomBytes: 0, Lost: true}
	case s.SafeWALSize == nil:
		return SlotVerdict{HeadroomBytes: Unlimited}
	default:
		return SlotVerdict{HeadroomBytes: max(0, *s.SafeWALSize)}
	}
}
