package dlq

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dlq/dlqtest"
)

// oracleWorld is a randomized DLQ shared by two connectors, with null,
// repeated and distinct keys, records without context, records whose
// original topic or partition does not exist, faults in the
// middle of batches and a DLQ topic deleted and created again; the
// oracle below says, from the logs alone, what a replay must send.
type oracleWorld struct {
	t    *testing.T
	rng  *rand.Rand
	k    *memKafka
	dir  string
	seed uint64
	// stats add up over every seed, for the closing log line.
	stats *oracleStats
}

type oracleStats struct {
	campaigns, runs, failedRuns, faults, recreations, sent int
}

const (
	oracleOrig  = "t"
	oracleConnA = "pg-sink"
	oracleConnB = "mysql-sink"
)

// oracleGone are origins that never exist: a topic, and a partition the
// original topic does not have.
var oracleGone = []origin{{"gone", 0}, {oracleOrig, 7}}

// goneOf is the truth about records that cannot go back: how many of
// the current DLQ topic's records of connector name an origin that does
// not exist.
func (w *oracleWorld) goneOf(connector string) int {
	n := 0
	for p := range int32(2) {
		for _, d := range w.k.Records(src.Topic, p) {
			if rec := Parse(d); rec.Connector == connector && !w.originExists(rec) {
				n++
			}
		}
	}
	return n
}

func (w *oracleWorld) originExists(rec Record) bool {
	return len(w.k.Records(rec.OriginalTopic, rec.OriginalPartition)) > 0
}

// addRecords appends n records to the original topic and dead-letters
// some of them, each by one of the two connectors.
func (w *oracleWorld) addRecords(n int) {
	for range n {
		var key []byte
		if w.rng.IntN(4) > 0 {
			key = fmt.Appendf(nil, "k%d", w.rng.IntN(5))
		}
		var r *kgo.Record
		if w.rng.IntN(8) == 0 {
			// Its original topic or partition is gone: it can never go back.
			gone := oracleGone[w.rng.IntN(len(oracleGone))]
			r = &kgo.Record{Topic: gone.topic, Partition: gone.part, Offset: int64(w.rng.IntN(100)), Key: key, Value: []byte("gone")}
		} else {
			r = w.k.Append(&kgo.Record{Topic: oracleOrig, Partition: int32(w.rng.IntN(2)), Key: key, Value: fmt.Appendf(nil, "v%d", w.rng.Int())})
			if w.rng.IntN(2) == 0 {
				continue
			}
		}
		d := &kgo.Record{Topic: src.Topic, Partition: int32(w.rng.IntN(2)), Key: r.Key, Value: r.Value}
		if w.rng.IntN(10) > 0 {
			conn := oracleConnA
			if w.rng.IntN(2) == 0 {
				conn = oracleConnB
			}
			d.Headers = dlqtest.ErrorContext{Topic: r.Topic, Partition: fmt.Sprint(r.Partition), Offset: fmt.Sprint(r.Offset), Connector: conn, Stage: "TASK_PUT"}.Headers()
		}
		w.k.Append(d)
	}
}

// sent counts, per DLQ record (topic id and marker), the copies a replay
// wrote to the original topic.
func (w *oracleWorld) sent() map[string]int {
	out := map[string]int{}
	for p := range int32(2) {
		for _, r := range w.k.Records(oracleOrig, p) {
			if marker, id := Marker(r); marker != "" {
				out[id+" "+marker]++
			}
		}
	}
	return out
}

// expected is the truth: the records of the current DLQ topic that a
// replay of connector with check must send now. They name the
// connector, were not sent yet and, with check, have a null key or no
// later record of their key in their original partition.
func (w *oracleWorld) expected(connector string, check bool) map[string]bool {
	id, _, _ := w.k.TopicID(context.Background(), src.Topic)
	sent := w.sent()
	out := map[string]bool{}
	for p := range int32(2) {
		for _, d := range w.k.Records(src.Topic, p) {
			rec := Parse(d)
			name := fmt.Sprintf("%s %s/%d/%d", id, src.Topic, p, d.Offset)
			if rec.Connector != connector || sent[name] > 0 || !w.originExists(rec) {
				continue
			}
			if check && rec.Key != nil && w.newerOfKey(rec) {
				continue
			}
			out[name] = true
		}
	}
	return out
}

func (w *oracleWorld) newerOfKey(rec Record) bool {
	for _, r := range w.k.Records(rec.OriginalTopic, rec.OriginalPartition)[rec.OriginalOffset+1:] {
		if r.Key != nil && string(r.Key) == string(rec.Key) {
			return true
		}
	}
	return false
}

func (w *oracleWorld) run(connector string, opts ReplayOptions) (*ReplayReport, error) {
	l := ledger(w.t, w.dir)
	defer l.Close()
	s := src
	s.Connector = connector
	return NewReplayer(s, w.k, w.k, l, opts).Run(context.Background())
}

// fault makes the next produce stop after some of its records, their
// acknowledgement lost or not.
func (w *oracleWorld) fault() {
	w.k.mu.Lock()
	defer w.k.mu.Unlock()
	w.k.failAfter = w.k.produced + w.rng.IntN(4)
	w.k.ackWritten = w.rng.IntN(2) == 0
	w.stats.faults++
}

func (w *oracleWorld) healthy() {
	w.k.mu.Lock()
	defer w.k.mu.Unlock()
	w.k.failAfter = -1
}

// campaign replays connector's DLQ until a run ends without error and
// without more to send, with faults on the way, and checks that what was
// sent is exactly the oracle's set, each once.
func (w *oracleWorld) campaign(connector string) {
	check := w.rng.IntN(3) > 0
	opts := ReplayOptions{CheckSuperseded: check, BatchSize: 1 + w.rng.IntN(4), Max: w.rng.IntN(4)}
	want := w.expected(connector, check)
	before := w.sent()
	dry, err := w.run(connector, ReplayOptions{CheckSuperseded: check, DryRun: true})
	if (err != nil && !errors.Is(err, ErrNotReplayable)) || dry.Replayed != len(want) {
		w.t.Fatalf("seed %d: dry run of %s (check %v) would send %d, the oracle says %d: %+v, %v", w.seed, connector, check, dry.Replayed, len(want), dry, err)
	}
	if gone := w.goneOf(connector); len(dry.NotReplayable)+dry.NotReplayableEarlier != gone || errors.Is(err, ErrNotReplayable) != (len(dry.NotReplayable) > 0) {
		w.t.Fatalf("seed %d: dry run of %s lists %d not replayable and %d found earlier, the oracle says %d in all: %v", w.seed, connector, len(dry.NotReplayable), dry.NotReplayableEarlier, gone, err)
	}
	var (
		last    *ReplayReport
		lastErr error
	)
	for attempt := 0; ; attempt++ {
		if attempt > 200 {
			w.t.Fatalf("seed %d: %s's replay never finished: %+v, %v", w.seed, connector, last, lastErr)
		}
		if w.rng.IntN(3) == 0 {
			w.fault()
		} else {
			w.healthy()
		}
		rep, err := w.run(connector, opts)
		w.stats.runs++
		if err != nil && !errors.Is(err, ErrNotReplayable) {
			w.stats.failedRuns++
		}
		if (err == nil || errors.Is(err, ErrNotReplayable)) && !rep.More {
			break
		}
		last, lastErr = rep, err
	}
	w.healthy()
	// What cannot go back was recorded: the next run does not stop at it.
	if rep, err := w.run(connector, opts); err != nil || rep.Replayed != 0 || len(rep.NotReplayable) != 0 {
		w.t.Fatalf("seed %d: %s's run after its campaign: %+v, %v", w.seed, connector, rep, err)
	}
	for _, g := range oracleGone {
		if n := len(w.k.Records(g.topic, g.part)); n != 0 {
			w.t.Fatalf("seed %d: %d records sent to %s[%d], which does not exist", w.seed, n, g.topic, g.part)
		}
	}
	after := w.sent()
	for name, n := range after {
		switch {
		case n > 1:
			w.t.Fatalf("seed %d: %s sent %d times", w.seed, name, n)
		case want[name] && n != 1:
			w.t.Fatalf("seed %d: %s's replay (check %v) did not send %s", w.seed, connector, check, name)
		case !want[name] && n != before[name]:
			w.t.Fatalf("seed %d: %s's replay (check %v) sent %s, which the oracle says it must not", w.seed, connector, check, name)
		}
	}
	for name := range want {
		if after[name] != 1 {
			w.t.Fatalf("seed %d: %s's replay (check %v) lost %s", w.seed, connector, check, name)
		}
	}
	w.stats.campaigns++
	w.stats.sent += len(want)
}

// A seeded randomized run against the oracle: whatever the keys, the
// connectors, the faults and the DLQ topic's recreation, every record
// the oracle names is sent exactly once and no other record is sent; a
// batch cut short and then lost with its topic is never sent twice.
func TestReplayAgainstTheOracle(t *testing.T) {
	var stats oracleStats
	for seed := range uint64(120) {
		w := &oracleWorld{t: t, rng: rand.New(rand.NewPCG(seed, 0x51)), k: newMemKafka(), dir: t.TempDir(), seed: seed, stats: &stats}
		w.addRecords(5 + w.rng.IntN(30))
		for range 3 + w.rng.IntN(5) {
			switch w.rng.IntN(6) {
			case 0:
				w.addRecords(1 + w.rng.IntN(10))
			case 1:
				// Deleted and created again, sometimes with a batch cut
				// short: that batch's records go with the old topic.
				if w.rng.IntN(2) == 0 {
					w.fault()
					_, _ = w.run(oracleConnA, ReplayOptions{BatchSize: 3})
					w.healthy()
				}
				w.k.Recreate(src.Topic)
				stats.recreations++
				w.addRecords(1 + w.rng.IntN(20))
			case 2, 3:
				w.campaign(oracleConnA)
			default:
				w.campaign(oracleConnB)
			}
		}
		for name, n := range w.sent() {
			if n > 1 {
				t.Fatalf("seed %d: %s sent %d times", seed, name, n)
			}
		}
	}
	t.Logf("%d campaigns over 120 seeds: %d runs (%d cut short; %d faults armed, some with nothing left to cut), %d recreated DLQ topics, %d records sent exactly once, none lost, none twice",
		stats.campaigns, stats.runs, stats.failedRuns, stats.faults, stats.recreations, stats.sent)
}
