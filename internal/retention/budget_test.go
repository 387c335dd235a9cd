package retention

import (
	"testing"
	"time"
)

func TestKeepsForeverNeedsNoTimeAndNoSizeLimit(t *testing.T) {
	cases := []struct {
		name string
		r    TopicRetention
		want bool
	}{
		{"retention.ms=-1", TopicRetention{Ms: -1, Bytes: -1, Delete: true}, true},
		{"Debezium's own Long.MAX_VALUE", TopicRetention{Ms: 9223372036854775807, Bytes: -1, Delete: true}, true},
		{"Kafka's default 7 days", TopicRetention{Ms: 7 * 24 * 3600 * 1000, Bytes: -1, Delete: true}, false},
		{"infinite time but a size limit", TopicRetention{Ms: -1, Bytes: 1 << 30, Delete: true}, false},
	}
	for _, c := range cases {
		if got := c.r.KeepsForever(); got != c.want {
			t.Errorf("%s: KeepsForever %v, want %v", c.name, got, c.want)
		}
	}
}

func TestShortOfTheOutageBudget(t *testing.T) {
	threeDays := TopicRetention{Ms: 3 * 24 * 3600 * 1000, Bytes: -1, Delete: true}
	if !threeDays.ShortOf(DefaultOutageBudget) {
		t.Error("3 days is not short of a 7-day budget")
	}
	if threeDays.ShortOf(3 * 24 * time.Hour) {
		t.Error("3 days is short of a 3-day budget")
	}
	if (TopicRetention{Ms: -1, Bytes: -1, Delete: true}).ShortOf(DefaultOutageBudget) {
		t.Error("infinite retention is short of the budget")
	}
}

func TestSourceNeedsTheShortestTopicOrTheBudget(t *testing.T) {
	day := int64(24 * 3600 * 1000)
	got, ok := SourceNeeds([]TopicRetention{{Ms: 14 * day, Bytes: -1, Delete: true}, {Ms: 10 * day, Bytes: -1, Delete: true}}, DefaultOutageBudget)
	if !ok || got != 10*24*time.Hour {
		t.Errorf("SourceNeeds = %v, %v; want 10 days", got, ok)
	}
	got, ok = SourceNeeds([]TopicRetention{{Ms: -1, Bytes: -1, Delete: true}}, DefaultOutageBudget)
	if !ok || got != DefaultOutageBudget {
		t.Errorf("SourceNeeds with topics kept for ever = %v, %v; want the budget", got, ok)
	}
	if _, ok := SourceNeeds(nil, DefaultOutageBudget); ok {
		t.Error("SourceNeeds without topics has an answer")
	}
}
