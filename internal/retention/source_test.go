package retention

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseLSNReadsDebeziumsFormAndTheServersHex(t *testing.T) {
	for _, s := range []string{"0000002b:000002e3:0003", "0000002B000002E30003", "0x0000002b000002e30003"} {
		l, err := ParseLSN(s)
		if err != nil {
			t.Fatalf("ParseLSN(%q): %v", s, err)
		}
		if got := l.String(); got != "0000002b:000002e3:0003" {
			t.Errorf("ParseLSN(%q) = %s", s, got)
		}
		if got := l.Hex(); got != "0000002b000002e30003" {
			t.Errorf("Hex of %q = %s", s, got)
		}
	}
}

func TestParseLSNRejectsWhatIsNotAnLSNAndNamesIt(t *testing.T) {
	for _, s := range []string{"", "0000002b:000002e3", "2b:2e3:3", "0000002b:000002e3:000g", "0000002b:000002e3:00030", "'; DROP TABLE t --"} {
		_, err := ParseLSN(s)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
			t.Errorf("ParseLSN(%q) = %v, want an error naming it", s, err)
		}
	}
}

func TestLSNFromBytesNeedsTenBytes(t *testing.T) {
	if _, err := LSNFromBytes([]byte{1, 2, 3}); err == nil {
		t.Fatal("a 3-byte LSN was accepted")
	}
	l, err := LSNFromBytes([]byte{0, 0, 0, 0x2b, 0, 0, 2, 0xe3, 0, 3})
	if err != nil || l.String() != "0000002b:000002e3:0003" {
		t.Fatalf("LSNFromBytes = %s, %v", l, err)
	}
}

// The order of LSNs, against the order of their three numbers computed
// directly.
func TestLSNCompareAgreesWithTheNumbersOracle(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 0))
	type parts struct {
		vlf, block uint32
		slot       uint16
	}
	pick := func() parts {
		// Small ranges make equal parts common, so ties are exercised.
		switch r.IntN(3) {
		case 0:
			return parts{uint32(r.IntN(3)), uint32(r.IntN(3)), uint16(r.IntN(3))}
		default:
			return parts{r.Uint32(), r.Uint32(), uint16(r.Uint32())}
		}
	}
	format := func(p parts) string {
		s := fmt.Sprintf("%08x:%08x:%04x", p.vlf, p.block, p.slot)
		if r.IntN(2) == 0 {
			s = strings.ToUpper(s)
		}
		return s
	}
	cmp := func(a, b parts) int {
		for _, d := range [][2]uint64{{uint64(a.vlf), uint64(b.vlf)}, {uint64(a.block), uint64(b.block)}, {uint64(a.slot), uint64(b.slot)}} {
			if d[0] != d[1] {
				if d[0] < d[1] {
					return -1
				}
				return 1
			}
		}
		return 0
	}
	for i := 0; i < 20000; i++ {
		a, b := pick(), pick()
		la, err := ParseLSN(format(a))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		lb, err := ParseLSN(format(b))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if got, want := la.Compare(lb), cmp(a, b); got != want {
			t.Fatalf("seed %d: %s vs %s compared %d, want %d", seed, la, lb, got, want)
		}
		if back, _ := ParseLSN(la.String()); back != la {
			t.Fatalf("seed %d: %s does not read back", seed, la)
		}
	}
}

// WAL positions, against the number PostgreSQL's text stands for.
func TestParseWALPositionAgreesWithTheNumberOracle(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 0))
	for i := 0; i < 20000; i++ {
		n := r.Uint64()
		if r.IntN(2) == 0 {
			n >>= r.IntN(64)
		}
		s := fmt.Sprintf("%X/%X", n>>32, n&0xFFFFFFFF)
		if r.IntN(2) == 0 {
			s = strings.ToLower(s)
		}
		p, err := ParseWALPosition(s)
		if err != nil {
			t.Fatalf("seed %d: ParseWALPosition(%q): %v", seed, s, err)
		}
		if uint64(p) != n {
			t.Fatalf("seed %d: ParseWALPosition(%q) = %d, want %d", seed, s, p, n)
		}
	}
	for _, bad := range []string{"", "16", "/1", "1/", "123456789/0", "1/g", "1/2/3"} {
		if _, err := ParseWALPosition(bad); err == nil {
			t.Errorf("ParseWALPosition(%q) accepted", bad)
		}
	}
}

func TestCommittedLSNReadsTheOffsetsCommitLSN(t *testing.T) {
	l, ok, err := CommittedLSN(map[string]any{"commit_lsn": "0000002b:000002e3:0003", "change_lsn": "0000002b:000002e3:0002", "event_serial_no": 1.0})
	if err != nil || !ok || l.String() != "0000002b:000002e3:0003" {
		t.Fatalf("CommittedLSN = %s, %v, %v", l, ok, err)
	}
	for _, none := range []map[string]any{{}, {"commit_lsn": nil}, {"commit_lsn": ""}, {"snapshot": true}} {
		if _, ok, err := CommittedLSN(none); ok || err != nil {
			t.Errorf("CommittedLSN(%v) = %v, %v; want nothing committed", none, ok, err)
		}
	}
	for _, bad := range []map[string]any{{"commit_lsn": 42.0}, {"commit_lsn": "nope"}} {
		if _, _, err := CommittedLSN(bad); err == nil || !strings.Contains(err.Error(), "commit_lsn") {
			t.Errorf("CommittedLSN(%v) = %v, want an error naming commit_lsn", bad, err)
		}
	}
}

func lsn(t testing.TB, s string) LSN {
	t.Helper()
	l, err := ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSQLServerHeadroomIsTheRetentionLeftForTheOldestUnreadTransaction(t *testing.T) {
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	at := func(h float64) *time.Time { x := base.Add(time.Duration(h * float64(time.Hour))); return &x }
	cases := []struct {
		name string
		src  SQLServerSource
		want float64
	}{
		{"caught up however long idle: the full retention",
			SQLServerSource{HasCleanup: true, Retention: 72 * time.Hour, Newest: *at(500)}, 72 * 3600},
		{"oldest unread transaction 70 h old on the cleanup clock",
			SQLServerSource{HasCleanup: true, Retention: 72 * time.Hour, Newest: *at(80), Next: at(10)}, 2 * 3600},
		{"past the retention: negative",
			SQLServerSource{HasCleanup: true, Retention: 72 * time.Hour, Newest: *at(100), Next: at(10)}, -18 * 3600},
		{"no cleanup job removes nothing",
			SQLServerSource{Newest: *at(100), Next: at(10)}, Unlimited},
	}
	for _, c := range cases {
		if got := c.src.Judge().HeadroomSeconds; got != c.want {
			t.Errorf("%s: headroom %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSQLServerLossIsACapturedTableStartingAboveTheCommittedPosition(t *testing.T) {
	committedAt := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	before, after := committedAt.Add(-time.Hour), committedAt.Add(time.Hour)
	c := lsn(t, "00000030:00000100:0001")
	below, above := lsn(t, "00000030:00000000:0001"), lsn(t, "00000031:00000000:0001")
	cases := []struct {
		name      string
		at        *time.Time
		instances []CaptureInstance
		lost      []string
	}{
		{"every table still starts at or below", &committedAt,
			[]CaptureInstance{{Table: "dbo.a", MinLSN: below, Created: before}, {Table: "dbo.b", MinLSN: c, Created: before}}, nil},
		{"cleanup passed the position", &committedAt,
			[]CaptureInstance{{Table: "dbo.a", MinLSN: below, Created: before}, {Table: "dbo.b", MinLSN: above, Created: before}}, []string{"dbo.b"}},
		{"a schema change's second instance starts above, the first still holds", &committedAt,
			[]CaptureInstance{{Table: "dbo.a", Name: "dbo_a_v2", MinLSN: above, Created: before}, {Table: "dbo.a", Name: "dbo_a", MinLSN: below, Created: before}}, nil},
		{"a table enabled after the position starts above by nature", &committedAt,
			[]CaptureInstance{{Table: "dbo.new", MinLSN: above, Created: after}}, nil},
		{"with the position's own time cleaned up, every instance counts", nil,
			[]CaptureInstance{{Table: "dbo.new", MinLSN: above, Created: after}}, []string{"dbo.new"}},
		{"an instance the caller may not read (0x00…) says nothing", &committedAt,
			[]CaptureInstance{{Table: "dbo.a", MinLSN: LSN{}, Created: before}}, nil},
	}
	for _, cs := range cases {
		v := SQLServerSource{Committed: c, CommittedAt: cs.at, Instances: cs.instances}.Judge()
		if v.Lost != (cs.lost != nil) || fmt.Sprint(v.LostTables) != fmt.Sprint(cs.lost) {
			t.Errorf("%s: lost %v %v, want %v", cs.name, v.Lost, v.LostTables, cs.lost)
		}
	}
}

// The oracle: a cdc.lsn_time_mapping timeline and a cleanup job simulated
// as Microsoft documents it (newest tran_end_time minus the retention,
// mapped to the smallest LSN of the latest commit time at or before it,
// rows below deleted). Headroom at or below 0 must be exactly "the next
// run deletes what the connector has not read", and loss exactly "the
// run moved the tables' start above the committed position".
func TestSQLServerVerdictAgreesWithASimulatedCleanupJob(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 0))
	base := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for round := 0; round < 5000; round++ {
		type entry struct {
			lsn LSN
			at  time.Time
		}
		n := 1 + r.IntN(12)
		timeline := make([]entry, n)
		clock := base
		for i := range timeline {
			// Ties in commit time are common: datetime has 3 ms steps.
			if i > 0 && r.IntN(3) > 0 {
				clock = clock.Add(time.Duration(r.IntN(5)) * time.Hour)
			}
			timeline[i] = entry{lsn: LSN{0, 0, 0, 1, 0, 0, 0, byte(i), 0, 1}, at: clock}
		}
		k := r.IntN(n) // the connector committed timeline[k]
		retention := time.Duration(1+r.IntN(12)) * time.Hour
		newest := timeline[n-1].at

		// What the query reads.
		src := SQLServerSource{HasCleanup: true, Retention: retention, Committed: timeline[k].lsn, Newest: newest, CommittedAt: &timeline[k].at}
		for _, e := range timeline[k+1:] {
			if e.at.After(timeline[k].at) {
				at := e.at
				src.Next = &at
				break
			}
		}
		before := src.Judge()

		// The cleanup run.
		threshold := newest.Add(-retention)
		minLSN := timeline[0].lsn
		var groupTime *time.Time
		for i := range timeline {
			if !timeline[i].at.After(threshold) {
				groupTime = &timeline[i].at
			}
		}
		if groupTime != nil {
			for _, e := range timeline {
				if e.at.Equal(*groupTime) {
					if e.lsn.Compare(minLSN) > 0 {
						minLSN = e.lsn
					}
					break
				}
			}
		}
		deletesUnread := minLSN.Compare(timeline[k].lsn) > 0
		if (before.HeadroomSeconds <= 0) != deletesUnread {
			t.Fatalf("seed %d round %d: headroom %v s before the run, but the run deletes unread changes: %v (committed #%d of %d, retention %v)",
				seed, round, before.HeadroomSeconds, deletesUnread, k, n, retention)
		}
		src.Instances = []CaptureInstance{{Table: "dbo.t", MinLSN: minLSN, Created: base.Add(-time.Hour)}}
		if after := src.Judge(); after.Lost != deletesUnread {
			t.Fatalf("seed %d round %d: lost %v after the run, want %v", seed, round, after.Lost, deletesUnread)
		}
	}
}

func TestPostgresSlotVerdict(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cases := []struct {
		name string
		slot PostgresSlot
		want SlotVerdict
	}{
		{"reserved with room", PostgresSlot{WALStatus: "reserved", SafeWALSize: f(1 << 30)}, SlotVerdict{HeadroomBytes: 1 << 30}},
		{"no max_slot_wal_keep_size", PostgresSlot{WALStatus: "reserved"}, SlotVerdict{HeadroomBytes: Unlimited}},
		{"unreserved: past the limit, next checkpoint removes", PostgresSlot{WALStatus: "unreserved", SafeWALSize: f(-4096)}, SlotVerdict{HeadroomBytes: 0}},
		{"lost", PostgresSlot{WALStatus: "lost"}, SlotVerdict{HeadroomBytes: 0, Lost: true}},
	}
	for _, c := range cases {
		if got := c.slot.Judge(); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestWorseTakesTheLeastHeadroomAndAnyLoss(t *testing.T) {
	a := SourceVerdict{HeadroomSeconds: 10}
	b := SourceVerdict{HeadroomSeconds: Unlimited, Lost: true, LostTables: []string{"dbo.t"}}
	if got := a.Worse(b); got.HeadroomSeconds != 10 || !got.Lost || fmt.Sprint(got.LostTables) != "[dbo.t]" {
		t.Fatalf("Worse = %+v", got)
	}
}
