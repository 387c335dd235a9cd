package connectaction

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
)

// While it waits, the operator reports each state it sees once, in the
// order seen, so a terminal can show the connector moving.
func TestOnStateReportsEachStateChange(t *testing.T) {
	f, c := newFake(t)
	f.Lag = 3
	f.Add("sink-a", jdbcSink, connect.StateRunning, 2)
	var mu sync.Mutex
	var seen []string
	opts := fastOptions
	opts.OnState = func(connector, state string) {
		mu.Lock()
		defer mu.Unlock()
		if connector != "sink-a" {
			t.Errorf("state for %q", connector)
		}
		seen = append(seen, state)
	}
	op := NewOperator(c, opts)
	targets, err := op.Resolve(context.Background(), []string{"sink-a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res := op.Do(context.Background(), CommandAction(actionkind.Pause, false, nil), targets); !res[0].OK {
		t.Fatalf("%+v", res)
	}
	want := []string{"connector RUNNING, 2 tasks RUNNING", "connector PAUSED, 2 tasks PAUSED"}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("states %q, want %q", seen, want)
	}
}
