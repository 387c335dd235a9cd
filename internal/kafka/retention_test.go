package kafka

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

func cfgs(kv ...string) []kadm.Config {
	var out []kadm.Config
	for i := 0; i < len(kv); i += 2 {
		out = append(out, kadm.Config{Key: kv[i], Value: kadm.StringPtr(kv[i+1])})
	}
	return out
}

func TestParseRetentionReadsTheDeletionSettings(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []kadm.Config
		want retention.TopicRetention
	}{
		{"kafka's defaults stand for what is left out", nil, retention.TopicRetention{Ms: 604800000, Bytes: -1, Delete: true}},
		{"time and size", cfgs("retention.ms", "3600000", "retention.bytes", "1024", "cleanup.policy", "delete"), retention.TopicRetention{Ms: 3600000, Bytes: 1024, Delete: true}},
		{"infinite", cfgs("retention.ms", "-1"), retention.TopicRetention{Ms: -1, Bytes: -1, Delete: true}},
		{"compacted only", cfgs("cleanup.policy", "compact"), retention.TopicRetention{Ms: 604800000, Bytes: -1, Delete: false}},
		{"compacted and deleted", cfgs("cleanup.policy", "compact, delete"), retention.TopicRetention{Ms: 604800000, Bytes: -1, Delete: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseRetention(c.in)
			if err != nil || got != c.want {
				t.Fatalf("parseRetention = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestParseRetentionNamesTheBadValue(t *testing.T) {
	_, err := parseRetention(cfgs("retention.ms", "a week"))
	if err == nil || !strings.Contains(err.Error(), `retention.ms="a week"`) {
		t.Fatalf("error %v, want one naming retention.ms and its value", err)
	}
}
