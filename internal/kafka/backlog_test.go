package kafka

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// A broker that accepts connections and never answers must cost a call
// no more than its deadline, and say so per group.
func TestGroupBacklogsAgainstAHangingBrokerEndsAtTheDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	c, err := New(config.Kafka{Brokers: []string{ln.Addr().String()}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	lags := c.GroupBacklogs(ctx, []string{"a", "b"}, BacklogOptions{MaxTimeReads: 10, Parallel: 1})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s with a 500ms deadline", d)
	}
	for _, g := range []string{"a", "b"} {
		if lags[g].Err == nil {
			t.Errorf("group %s: no error from a broker that never answered: %+v", g, lags[g])
		}
	}
}

func TestShareGivesAStepItsPartOfTheRemainingTime(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	ctx, c2 := share(parent, 1, 3)
	defer c2()
	dl, _ := ctx.Deadline()
	if left := time.Until(dl); left > 21*time.Minute || left < 19*time.Minute {
		t.Errorf("a third of an hour is %s", left)
	}
	free, c3 := share(context.Background(), 1, 3)
	defer c3()
	if _, ok := free.Deadline(); ok {
		t.Error("no deadline must stay no deadline")
	}
}
