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
// nothing else to compare). A PostgreSQL source's timestamp and
// timestamptz, converted by the comparison into the zone, must equal
// exactly the unmoved ones, and the Go reference must agree with the
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
		"CREATE TABLE " + src + " (id int PRIMARY KEY, ts timestamp(6), tstz timestamptz(6))",
		"CREATE TABLE " + tgt + " (id int PRIMARY KEY, ts timestamp(6), tstz timestamp(6))",
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
			srcRows = append(srcRows, fmt.Sprintf("(%d, %s, %s)", i, lit(at), "'"+at.Format("2006-01-02 15:04:05.999999")+"+00'"))
			tgtRows = append(tgtRows, fmt.Sprintf("(%d, %s, %s)", i, lit(wall), lit(wall)))
		}
		for table, rows := range map[string][]string{src: srcRows, tgt: tgtRows} {
			if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" VALUES "+strings.Join(rows, ", ")); err != nil {
				t.Fatalf("seed %d, zone %s: %v", seed, zone, err)
			}
		}
		path := Path{SinkTimeZone: zone}
		var srcCols, tgtCols []Column
		for _, typ := range []string{"timestamp without time zone", "timestamp with time zone"} {
			sk, _ := Postgres{}.KindOf(typ)
			sc := Column{Name: "ts", Type: typ, Scale: 6, Kind: sk}
			if sk == rowhash.KindTimestampTZ {
				sc.Name = "tstz"
			}
			tc := Column{Name: sc.Name, Type: "timestamp without time zone", Scale: 6, Kind: rowhash.KindTimestamp}
			k, sr, tr, reason := decideTime(sc, tc, path)
			if reason != "" || sr.Zone != zone {
				t.Fatalf("zone %s, %s: rule %s, %q; want it converted into the zone", zone, typ, describeRule(sr), reason)
			}
			sc.Kind, sc.Time, tc.Kind, tc.Time = k, sr, k, tr
			srcCols, tgtCols = append(srcCols, sc), append(tgtCols, tc)
		}
		fields := func(table string, cols []Column) [][2]string {
			q := "SELECT " + Postgres{}.Field(cols[0]) + ", " + Postgres{}.Field(cols[1]) + " FROM " + table + " ORDER BY id"
			rows, err := conn.QueryContext(ctx, q)
			if err != nil {
				t.Fatalf("seed %d, zone %s: %v\n%s", seed, zone, err, q)
			}
			defer rows.Close()
			var out [][2]string
			for rows.Next() {
				var f [2]string
				if err := rows.Scan(&f[0], &f[1]); err != nil {
					t.Fatal(err)
				}
				out = append(out, f)
			}
			return out
		}
		sf, tf := fields(src, srcCols), fields(tgt, tgtCols)
		for i, at := range instants {
			for j, c := range srcCols {
				ref, err := AppendColumn(nil, c, at)
				if err != nil {
					t.Fatal(err)
				}
				if string(ref) != sf[i][j] {
					t.Errorf("seed %d, zone %s, %s %s: SQL %s, Go reference %s", seed, zone, c.Type, at.Format(time.RFC3339Nano), sf[i][j], ref)
				}
				if same := sf[i][j] == tf[i][j]; same != (moved[i] == 0) {
					t.Errorf("seed %d, zone %s, %s %s (wall clock %s, target moved by %s): source %s, target %s; same=%v",
						seed, zone, c.Type, at.Format(time.RFC3339Nano), z.wall(at).Format("2006-01-02 15:04:05.999999"), moved[i], sf[i][j], tf[i][j], same)
				}
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
