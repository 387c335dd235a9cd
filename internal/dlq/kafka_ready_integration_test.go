package dlq

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// waitLed waits until the brokers lead partition 0 of each new topic: a
// produce right after CreateTopic can otherwise meet
// UNKNOWN_TOPIC_OR_PARTITION on a loaded broker, which the replay
// producer (rightly) does not wait out.
func waitLed(t *testing.T, ctx context.Context, kc *kafka.Client, topics ...string) {
	t.Helper()
	var last string
	testenv.Eventually(t, time.Minute, func() bool {
		ends, err := kc.PartitionEnds(ctx, topics...)
		if err != nil {
			last = err.Error()
			return false
		}
		for _, topic := range topics {
			tp := ends[topic]
			if _, ok := tp.Ends[0]; !ok || !tp.Exists || tp.Err != nil {
				last = fmt.Sprintf("%s: exists %v, ends %v, %v", topic, tp.Exists, tp.Ends, tp.Err)
				return false
			}
		}
		return true
	}, func() string { return "new topics led: " + last })
}
