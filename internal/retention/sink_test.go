package retention

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)

func TestSinkHeadroomIsTheRetentionLeftForTheOldestUnconsumedRecord(t *testing.T) {
	day := TopicRetention{Ms: 86_400_000, Bytes: -1, Delete: true}
	cases := []struct {
		name string
		r    TopicRetention
		b    SinkBacklog
		want float64
		ok   bool
	}{
		{"caught up keeps the whole retention", day, SinkBacklog{CaughtUp: true}, 86400, true},
		{"an hour behind", day, SinkBacklog{Age: time.Hour, AgeKnown: true}, 82800, true},
		{"past retention is due now, not negative", day, SinkBacklog{Age: 48 * time.Hour, AgeKnown: true}, 0, true},
		{"oldest not read is unknown", day, SinkBacklog{}, 0, false},
		{"infinite retention", TopicRetention{Ms: -1, Bytes: -1, Delete: true}, SinkBacklog{}, math.Inf(1), true},
		{"compaction only never deletes by time", TopicRetention{Ms: 1000, Bytes: -1, Delete: false}, SinkBacklog{Age: time.Hour, AgeKnown: true}, math.Inf(1), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := SinkHeadroom(c.r, c.b)
			if ok != c.ok || (ok && got != c.want) {
				t.Fatalf("SinkHeadroom = %v, %v; want %v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestSizeLimitedOnlyWhenSizeRetentionDeletes(t *testing.T) {
	for _, c := range []struct {
		r    TopicRetention
		want bool
	}{
		{TopicRetention{Ms: 1, Bytes: 1 << 30, Delete: true}, true},
		{TopicRetention{Ms: 1, Bytes: -1, Delete: true}, false},
		{TopicRetention{Ms: 1, Bytes: 1 << 30, Delete: false}, false},
	} {
		if got := c.r.SizeLimited(); got != c.want {
			t.Errorf("%+v.SizeLimited() = %v, want %v", c.r, got, c.want)
		}
	}
}

// The oracle walks time forward second by second until some record the
// sink has not consumed is older than the retention, over every
// partition's records; SinkHeadroom only sees the oldest of the records
// at the committed offsets, as the collector reads them.
func TestSinkHeadroomAgainstWalkingTimeForward(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 400 {
		r := TopicRetention{Ms: int64(1+rng.IntN(7200)) * 1000, Bytes: -1, Delete: true}
		if rng.IntN(10) == 0 {
			r.Ms = -1
		}
		var unconsumed []time.Time
		b := SinkBacklog{CaughtUp: true, AgeKnown: true}
		var oldest time.Time
		for range 1 + rng.IntN(4) {
			// A partition's records in offset order, times rising; the
			// sink has consumed a prefix of them.
			n := rng.IntN(6)
			ts := now.Add(-time.Duration(rng.IntN(3*7200)) * time.Second)
			committed := rng.IntN(n + 1)
			for k := range n {
				if k >= committed {
					unconsumed = append(unconsumed, ts)
					if b.CaughtUp || ts.Before(oldest) {
						oldest = ts
					}
					b.CaughtUp = false
				}
				ts = ts.Add(time.Duration(rng.IntN(600)) * time.Second)
			}
		}
		if !b.CaughtUp {
			// As lag.SinkLag measures it: a record stamped ahead of our
			// clock has waited no time.
			b.Age = max(now.Sub(oldest), 0)
		}
		got, ok := SinkHeadroom(r, b)
		if !ok {
			t.Fatalf("seed %d case %d: headroom unknown with every time known", seed, i)
		}
		want := math.Inf(1)
		if r.Ms >= 0 {
			want = float64(r.Ms / 1000)
			for s := 0.0; s <= float64(r.Ms/1000); s++ {
				at := now.Add(time.Duration(s) * time.Second)
				if anyOlderThan(unconsumed, at, time.Duration(r.Ms)*time.Millisecond) {
					want = s
					break
				}
			}
		}
		if got != want {
			t.Fatalf("seed %d case %d: headroom %v, walking time says %v (retention %dms, backlog %+v)", seed, i, got, want, r.Ms, b)
		}
	}
}

func anyOlderThan(ts []time.Time, at time.Time, ret time.Duration) bool {
	for _, t := range ts {
		if at.Sub(t) >= ret {
			return true
		}
	}
	return false
}

func TestRecordsLostCountsTheGapUntilTheSinkSkipsIt(t *testing.T) {
	var st LossState
	steps := []struct {
		parts []PartitionOffsets
		want  int64
	}{
		{[]PartitionOffsets{{0, 100, 50}}, 0},
		{[]PartitionOffsets{{0, 100, 140}}, 40},
		{[]PartitionOffsets{{0, 100, 160}}, 60},
		{[]PartitionOffsets{{0, 160, 160}}, 0}, // skipped: a reset
	}
	for i, s := range steps {
		var got int64
		got, st = RecordsLost(st, s.parts)
		if got != s.want {
			t.Fatalf("step %d: lost %d, want %d", i, got, s.want)
		}
	}
}

func TestRecordsLostCarriesAPartitionThatSkippedWhileAnotherStillLoses(t *testing.T) {
	var st LossState
	got, st := RecordsLost(st, []PartitionOffsets{{0, 0, 30}, {1, 0, 10}})
	if got != 40 {
		t.Fatalf("lost %d, want 40", got)
	}
	got, st = RecordsLost(st, []PartitionOffsets{{0, 30, 30}, {1, 0, 20}})
	if got != 50 {
		t.Fatalf("after partition 0 skipped and partition 1 lost 10 more: %d, want 50", got)
	}
	got, _ = RecordsLost(st, []PartitionOffsets{{0, 30, 30}, {1, 20, 20}})
	if got != 0 {
		t.Fatalf("after every partition skipped: %d, want 0 (a reset)", got)
	}
}

func TestRecordsLostAfterARestartIsTheSameValue(t *testing.T) {
	parts := []PartitionOffsets{{0, 100, 140}, {1, 7, 9}}
	before, _ := RecordsLost(LossState{}, parts)
	after, _ := RecordsLost(LossState{}, parts) // a new process, no memory
	if before != after || before != 42 {
		t.Fatalf("lost %d before a restart and %d after, want 42 both", before, after)
	}
}

// increase is what Prometheus' increase() adds up over a counter's
// samples: a fall is a reset, after which the whole new value counts.
func increase(samples []int64) int64 {
	var sum int64
	for i := 1; i < len(samples); i++ {
		if d := samples[i] - samples[i-1]; d >= 0 {
			sum += d
		} else {
			sum += samples[i]
		}
	}
	return sum
}

// A simulated topic: producers append, retention moves log starts, sinks
// consume or skip a gap (auto.offset.reset=earliest), and cdc-sentinel
// may restart. The truth is counted record by record as retention
// deletes what the sink had not consumed; increase() over the counter's
// samples must equal it whenever a restart does not fall while a
// partition's loss is carried.
func TestRecordsLostAgainstRecordByRecordTruth(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	for run := range 300 {
		n := 1 + rng.IntN(4)
		type part struct{ start, end, committed int64 }
		ps := make([]part, n)
		var truth int64
		var st LossState
		samples := []int64{0}
		for step := range 60 {
			p := &ps[rng.IntN(n)]
			switch rng.IntN(5) {
			case 0, 1:
				p.end += int64(1 + rng.IntN(20))
			case 2: // retention deletes a prefix
				newStart := p.start + int64(rng.IntN(int(p.end-p.start)+1))
				if newStart > p.committed {
					truth += newStart - max(p.start, p.committed)
				}
				p.start = newStart
			case 3: // the sink consumes, or skips to the log start
				if p.committed < p.start {
					p.committed = p.start
				} else {
					p.committed += int64(rng.IntN(int(p.end-p.committed) + 1))
				}
			case 4: // cdc-sentinel restarts, when nothing is carried
				if st.closed == 0 {
					st = LossState{}
				}
			}
			offs := make([]PartitionOffsets, n)
			for i, q := range ps {
				offs[i] = PartitionOffsets{Partition: int32(i), Committed: q.committed, Start: q.start}
			}
			var v int64
			v, st = RecordsLost(st, offs)
			samples = append(samples, v)
			if got := increase(samples); got != truth {
				t.Fatalf("seed %d run %d step %d: increase() of the counter is %d, %d records were lost (samples %v)", seed, run, step, got, truth, samples)
			}
		}
	}
}
