package lag

import (
	"errors"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
)

func TestSinkLagIsTheAgeOfTheOldestUnconsumedRecord(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		backlog kafka.TopicBacklog
		want    TopicSinkLag
	}{
		"behind": {
			kafka.TopicBacklog{Records: 120, Oldest: now.Add(-90 * time.Second), OldestKnown: true},
			TopicSinkLag{Records: 120, Age: 90 * time.Second, AgeKnown: true}},
		"caught up": {
			kafka.TopicBacklog{Records: 0, OldestKnown: true},
			TopicSinkLag{Records: 0, Age: 0, AgeKnown: true}},
		"a producer clock ahead of ours is no negative age": {
			kafka.TopicBacklog{Records: 3, Oldest: now.Add(2 * time.Second), OldestKnown: true},
			TopicSinkLag{Records: 3, Age: 0, AgeKnown: true}},
		"oldest record over the read budget": {
			kafka.TopicBacklog{Records: 5000, OldestKnown: false},
			TopicSinkLag{Records: 5000, AgeKnown: false}},
		"an oldest time left over when not known is not used": {
			kafka.TopicBacklog{Records: 7, Oldest: now.Add(-time.Hour), OldestKnown: false},
			TopicSinkLag{Records: 7, AgeKnown: false}},
	} {
		if got := SinkLag(tc.backlog, now); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", name, got, tc.want)
		}
	}
}

// A partial sum of records is no lag: only its error is known.
func TestSinkLagOfAPartlyReadTopicIsItsError(t *testing.T) {
	partial := errors.New("end offset of t[2]: its leader did not answer")
	got := SinkLag(kafka.TopicBacklog{Records: 4, Err: partial, OldestKnown: true, Oldest: time.Now()}, time.Now())
	if !errors.Is(got.Err, partial) || got.Records != 0 || got.AgeKnown {
		t.Errorf("got %+v", got)
	}
}

// The reads sink lag costs are bounded, and the caller says which topics
// its sinks still consume.
func TestSinkBacklogReadsAreBounded(t *testing.T) {
	kept := false
	opts := SinkBacklogOptions(func(string, string) bool { kept = true; return true })
	if opts.MaxTimeReads != sinkMaxTimeReads || opts.Parallel != sinkParallel || sinkParallel < 1 {
		t.Errorf("reads not bounded as documented: %+v", opts)
	}
	if opts.Keep == nil || !opts.Keep("g", "t") || !kept {
		t.Error("the caller's topic filter was not passed on")
	}
}
