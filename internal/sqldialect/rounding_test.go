package sqldialect

import (
	"math"
	"math/big"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash/rowhashtest"
)

// randomTicks is a random SQL Server datetime2(7)/datetimeoffset(7)
// value (100 ns ticks, 1900 to 2200); a third of them sit on the
// boundaries where roundings part: half a microsecond, half a
// millisecond, and half a microsecond short of either.
func randomTicks(r *rand.Rand) time.Time {
	sec := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix() + r.Int63n(300*365*86400)
	ns := int64(r.Intn(10_000_000)) * 100
	if r.Intn(3) == 0 {
		edges := []int64{500, 1_500, 2_500, 499_500, 500_000, 999_500, 499_900, 999_900}
		ns = int64(r.Intn(1000))*1_000_000 + edges[r.Intn(len(edges))]
	}
	return time.Unix(sec, ns).UTC()
}

// halfUp rounds n/d half up (towards +inf) exactly.
func halfUp(n *big.Rat, d int64) int64 {
	q := new(big.Rat).Quo(n, big.NewRat(d, 1))
	q.Add(q, big.NewRat(1, 2))
	f := new(big.Int).Div(q.Num(), q.Denom()) // floor: Denom > 0
	return f.Int64()
}

// isoText is a ZonedTimestamp as Debezium writes it (ISO-8601 with the
// source row's offset; trailing fractional zeros dropped).
func isoText(v time.Time, offsetMin int) string {
	z := time.FixedZone("", offsetMin*60)
	if offsetMin == 0 {
		z = time.UTC
	}
	return v.In(z).Format("2006-01-02T15:04:05.999999999Z07:00")
}

// pgParseMicros is PostgreSQL's reading of an ISO text into a
// timestamptz (ParseFractionalSecond: strtod of the fraction, times 10⁶,
// rint), in Go: float64 arithmetic and round-half-even as C's rint.
func pgParseMicros(text string) int64 {
	i := strings.IndexByte(text, '.')
	whole := text
	frac := 0.0
	if i >= 0 {
		j := i + 1
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		frac, _ = strconv.ParseFloat(text[i:j], 64)
		whole = text[:i] + text[j:]
	}
	t, err := time.Parse(time.RFC3339, whole)
	if err != nil {
		panic(err)
	}
	return t.Unix()*1e6 + int64(math.RoundToEven(frac*1e6))
}

// pgISOModel is what pgISOMicros computes: whole seconds parsed, the
// fraction's digits read as integer nanoseconds and rounded half up.
func pgISOModel(text string) int64 {
	i := strings.IndexByte(text, '.')
	if i < 0 {
		t, _ := time.Parse(time.RFC3339, text)
		return t.Unix() * 1e6
	}
	j := i + 1
	for j < len(text) && text[j] >= '0' && text[j] <= '9' {
		j++
	}
	digits := (text[i+1:j] + "000000000")[:9]
	ns, _ := strconv.ParseInt(digits, 10, 64)
	t, _ := time.Parse(time.RFC3339, text[:i]+text[j:])
	return t.Unix()*1e6 + (ns+500)/1000
}

// tsqlMicrosModel is what roundedMicros computes on SQL Server:
// DATEDIFF_BIG(microsecond, epoch, v) counts microsecond boundaries
// (floor), plus one when DATEPART(nanosecond, v) % 1000 >= 500.
func tsqlMicrosModel(v time.Time) int64 {
	us := floorDiv(v.UnixNano(), 1000)
	if v.Nanosecond()%1000 >= 500 {
		us++
	}
	return us
}

// A datetimeoffset(7) written by the Confluent sink as ISO text must
// encode at the target as at the source. The truth is the instant
// rounded half up to microseconds, computed exactly (big.Rat); the
// source's T-SQL (roundedMicros), the Go reference (EpochMicros) and the
// target's new SQL (pgISOMicros, modelled here; run against PostgreSQL by
// TestPostgresRoundsLikeTheSource) must all equal it. PostgreSQL's own
// ::timestamptz, which the target used to rely on, rounds half to even
// and parts from the truth on about 5% of the values: the test checks
// that too, so the model of the defect stays honest.
func TestISOTextRoundsLikeTheSource(t *testing.T) {
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewSource(seed))
	const n = 20000
	parted := 0
	for range n {
		v := randomTicks(r)
		off := (r.Intn(29*4) - 14*4) * 15
		if r.Intn(2) == 0 {
			off = 0
		}
		text := isoText(v, off)
		truth := halfUp(new(big.Rat).SetFrac64(v.UnixNano(), 1), 1000)
		if got := rowhashtest.EpochMicros(v); got != truth {
			t.Fatalf("seed %d: %s: Go reference %d, truth %d", seed, text, got, truth)
		}
		if got := tsqlMicrosModel(v); got != truth {
			t.Fatalf("seed %d: %s: T-SQL %d, truth %d", seed, text, got, truth)
		}
		if got := pgISOModel(text); got != truth {
			t.Fatalf("seed %d: %s: PostgreSQL side %d, truth %d", seed, text, got, truth)
		}
		if pgParseMicros(text) != truth {
			parted++
		}
	}
	// Uniform 7-digit fractions end in 5 one time in ten, half of those
	// round the other way; the boundary values add more.
	if parted < n/50 {
		t.Errorf("seed %d: PostgreSQL's own parse parted from the truth on %d of %d values: the model of its rounding is wrong", seed, parted, n)
	}
}

// pgTypmodMillis is PostgreSQL's AdjustTimestampForTypmod into
// timestamp(3): microseconds since 2000-01-01, their magnitude rounded
// half up to milliseconds (so halves go towards the past before 2000).
func pgTypmodMillis(us int64) int64 {
	rel := us - pgEpoch*1_000_000
	if rel >= 0 {
		rel = (rel + 500) / 1000 * 1000
	} else {
		rel = -((-rel + 500) / 1000 * 1000)
	}
	return rel + pgEpoch*1_000_000
}

// Milliseconds are taken once, from the value the target holds: a
// datetime2(7) reaching a PostgreSQL timestamp through the sink's driver
// is first rounded half up to microseconds (pgjdbc), then a timestamp(3)
// rounds that to milliseconds (half away from 2000-01-01, PostgreSQL's
// epoch), and compare.time_precision: ms truncates it. The source side must land on the same millisecond from
// its own nanoseconds: .0004995 s is 500 µs, so 1 ms, at the target. The
// truth is computed along the path; both sides' encodings (the Go
// reference under the rules decideTime gives each side, which the T-SQL
// and PostgreSQL fields are pinned to) must equal it.
func TestMillisecondsRoundOnceAlongThePath(t *testing.T) {
	seed := time.Now().UnixNano()
	r := rand.New(rand.NewSource(seed))
	src := Column{Name: "c", Type: "datetime2", Scale: 7, Kind: rowhash.KindTimestamp}
	for _, tc := range []struct {
		name   string
		tgt    Column
		path   Path
		target func(ns int64) int64 // the µs the target holds
	}{
		{"timestamp(3) target", Column{Name: "c", Type: "timestamp without time zone", Scale: 3, Kind: rowhash.KindTimestamp}, Path{},
			func(ns int64) int64 { return pgTypmodMillis(halfUp(big.NewRat(ns, 1), 1000)) }},
		{"compare.time_precision: ms", Column{Name: "c", Type: "timestamp without time zone", Scale: 6, Kind: rowhash.KindTimestamp}, Path{Precision: PrecisionMillis},
			func(ns int64) int64 { return halfUp(big.NewRat(ns, 1), 1000) }},
		{"connect mode: whole ms, truncated", Column{Name: "c", Type: "timestamp without time zone", Scale: 6, Kind: rowhash.KindTimestamp}, Path{Mode: ModeConnect},
			func(ns int64) int64 { return floorDiv(ns, 1e6) * 1000 }},
		{"Confluent sink, ms compare: exact ns", Column{Name: "c", Type: "bigint", Scale: -1, Kind: rowhash.KindInt}, Path{Precision: PrecisionMillis},
			func(ns int64) int64 { return 0 }},
	} {
		k, sr, tr, reason := decideTime(src, tc.tgt, tc.path)
		if reason != "" {
			t.Fatalf("%s: %s", tc.name, reason)
		}
		sc, tcol := src, tc.tgt
		sc.Kind, tcol.Kind, sc.Time, tcol.Time = k, k, sr, tr
		for range 5000 {
			v := randomTicks(r)
			if v.Year() >= 2262 {
				continue
			}
			ns := v.UnixNano()
			want, err := AppendColumn(nil, sc, v)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if tr.Stored == StoredEpochNanos {
				// The target's integer nanoseconds, compared at ms by
				// pgDiv: whole ms truncated from the exact value.
				got = strconv.AppendInt(nil, floorDiv(ns, 1e6)*1000, 10)
			} else {
				got, err = AppendColumn(nil, tcol, time.UnixMicro(tc.target(ns)).UTC())
				if err != nil {
					t.Fatal(err)
				}
			}
			if string(got) != string(want) {
				t.Fatalf("seed %d: %s: %s (%d ns) encodes as %s at the source, %s at the target (rules %s / %s)",
					seed, tc.name, v.Format(time.RFC3339Nano), ns, want, got, describeRule(sr), describeRule(tr))
			}
		}
	}
}
