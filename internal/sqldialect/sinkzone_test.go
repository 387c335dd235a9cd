package sqldialect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// sinkZones are zones a sink may be set to: daylight saving north and
// south, half-hour and 45-minute offsets, a 30-minute DST (Lord Howe),
// zones whose rules changed, and Java's fixed-offset forms (whose sign
// is east-positive, unlike a POSIX 'UTC+2').
var sinkZones = []string{
	"Europe/Paris", "America/New_York", "America/St_Johns", "Australia/Lord_Howe", "Pacific/Chatham",
	"America/Sao_Paulo", "Asia/Kolkata", "Europe/London", "Africa/Casablanca", "Etc/GMT+5",
	"+05:30", "-03", "UTC+01:00", "GMT-08:00", "+0545",
}

// transitions are the instants between 1970 and 2040 where loc's offset
// changes, to the second.
func transitions(loc *time.Location) []time.Time {
	offset := func(t time.Time) int { _, o := t.In(loc).Zone(); return o }
	var out []time.Time
	for t := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC); t.Year() < 2040; t = t.Add(6 * time.Hour) {
		next := t.Add(6 * time.Hour)
		if offset(t) == offset(next) {
			continue
		}
		lo, hi := t, next // offset(lo) != offset(hi)
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if offset(mid) == offset(lo) {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, hi)
	}
	return out
}

// A sink in another zone than UTC writes each timestamp as that zone's
// wall clock: the truth here is that wall clock computed in Go
// (time.LoadLocation, In), written into the target as a sink would,
// with some target values moved by a microsecond or by an hour (the
// other side of a fold shows the same wall clock: the target holds
// nothing else to compare). A PostgreSQL source's timestamp, converted
// by the comparison into the zone, must equal exactly the unmoved ones
// (whatever the session's zone), and the Go reference must agree with the
// SQL. Half the instants fall within two hours of a transition. A
// failure prints its seed; CDC_SINKZONE_SEED replays it.
func TestASinkZoneIsComparedAsItsWallClock(t *testing.T) {
	p := testenv.Need(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CDC_SINKZONE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CDC_SINKZONE_SEED: %v", err)
		}
	}
	t.Logf("seed %d (CDC_SINKZONE_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	ctx := context.Background()
	conn, err := p.TargetDB(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Nothing may depend on the session's zone.
	if _, err := conn.ExecContext(ctx, "SET TIME ZONE 'Pacific/Kiritimati'"); err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	src, tgt := "sinkzone_src_"+suffix, "sinkzone_tgt_"+suffix
	for _, ddl := range []string{
		"CREATE TABLE " + src + " (id int PRIMARY KEY, ts timestamp(6))",
		"CREATE TABLE " + tgt + " (id int PRIMARY KEY, ts timestamp(6))",
	} {
		if _, err := conn.ExecContext(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		db := p.TargetDB(t)
		db.Exec("DROP TABLE IF EXISTS " + src)
		db.Exec("DROP TABLE IF EXISTS " + tgt)
	})
	const perZone = 120
	moves := []time.Duration{time.Microsecond, -time.Microsecond, time.Hour, -time.Hour, 30 * time.Minute, 24 * time.Hour}
	for _, zone := range sinkZones {
		z, err := parseSinkZone(zone)
		if err != nil {
			t.Fatalf("zone %s: %v", zone, err)
		}
		edges := transitions(z.loc)
		if _, err := conn.ExecContext(ctx, "TRUNCATE "+src+", "+tgt); err != nil {
			t.Fatal(err)
		}
		instants := make([]time.Time, perZone)
		moved := make([]time.Duration, perZone)
		var srcRows, tgtRows []string
		for i := range instants {
			var at time.Time
			if len(edges) > 0 && i%2 == 0 {
				at = edges[rng.IntN(len(edges))].Add(time.Duration(rng.Int64N(int64(4*time.Hour))) - 2*time.Hour)
			} else {
				at = time.Unix(rng.Int64N(200*365*86400)-70*365*86400, 0)
			}
			at = at.Truncate(time.Second).Add(time.Duration(rng.Int64N(1_000_000)) * time.Microsecond).UTC()
			instants[i] = at
			if rng.IntN(3) == 0 {
				moved[i] = moves[rng.IntN(len(moves))]
			}
			wall := z.wall(at).Add(moved[i])
			lit := func(t time.Time) string { return "'" + t.Format("2006-01-02 15:04:05.999999") + "'" }
			srcRows = append(srcRows, fmt.Sprintf("(%d, %s)", i, lit(at)))
			tgtRows = append(tgtRows, fmt.Sprintf("(%d, %s)", i, lit(wall)))
		}
		for table, rows := range map[string][]string{src: srcRows, tgt: tgtRows} {
			if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" VALUES "+strings.Join(rows, ", ")); err != nil {
				t.Fatalf("seed %d, zone %s: %v", seed, zone, err)
			}
		}
		sc := Column{Name: "ts", Type: "timestamp without time zone", Scale: 6, Kind: rowhash.KindTimestamp}
		tc := sc
		k, sr, tr, reason := decideTime(sc, tc, Path{SinkTimeZone: zone})
		if reason != "" || sr.Zone != zone {
			t.Fatalf("zone %s: rule %s, %q; want it converted into the zone", zone, describeRule(sr), reason)
		}
		sc.Kind, sc.Time, tc.Kind, tc.Time = k, sr, k, tr
		fields := func(table string, c Column) []string {
			q := "SELECT " + Postgres{}.Field(c) + " FROM " + table + " ORDER BY id"
			rows, err := conn.QueryContext(ctx, q)
			if err != nil {
				t.Fatalf("seed %d, zone %s: %v\n%s", seed, zone, err, q)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var f string
				if err := rows.Scan(&f); err != nil {
					t.Fatal(err)
				}
				out = append(out, f)
			}
			return out
		}
		sf, tf := fields(src, sc), fields(tgt, tc)
		for i, at := range instants {
			ref, err := AppendColumn(nil, sc, at)
			if err != nil {
				t.Fatal(err)
			}
			if string(ref) != sf[i] {
				t.Errorf("seed %d, zone %s, %s: SQL %s, Go reference %s", seed, zone, at.Format(time.RFC3339Nano), sf[i], ref)
			}
			if same := sf[i] == tf[i]; same != (moved[i] == 0) {
				t.Errorf("seed %d, zone %s, %s (wall clock %s, target moved by %s): source %s, target %s; same=%v",
					seed, zone, at.Format(time.RFC3339Nano), z.wall(at).Format("2006-01-02 15:04:05.999999"), moved[i], sf[i], tf[i], same)
			}
		}
	}
}

// Java's fixed offsets read east-positive whatever their prefix, and
// what is not a zone id is refused before it reaches SQL.
func TestSinkZoneIDs(t *testing.T) {
	for id, want := range map[string]int{"+05:30": 19800, "-03": -10800, "UTC+01:00": 3600, "GMT-8": -28800, "+0545": 20700, "UT+02:00:30": 7230, "Z": -1} {
		z, err := parseSinkZone(id)
		if want == -1 {
			continue // "Z" is UTC, which never reaches here (connectorkind.IsUTC)
		}
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if _, off := time.Unix(0, 0).In(z.loc).Zone(); off != want {
			t.Errorf("%s: offset %d, want %d", id, off, want)
		}
	}
	for _, id := range []string{"Europe/Paris'; DROP TABLE x; --", "Local", "+19:00", "Mars/Olympus_Mons", ""} {
		if _, err := parseSinkZone(id); err == nil {
			t.Errorf("%q: accepted", id)
		}
	}
}
