package connectaction

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorlist"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// These tests drive the real Kafka Connect worker of the local pipeline.
// They act only on a JDBC sink of their own (its own topic, its own
// table in the target database), never on the demo connectors.

func realOperator(t *testing.T) (*testenv.Pipeline, *connect.Client, *Operator) {
	t.Helper()
	p := testenv.Need(t)
	c := connecttest.Local(t, p)
	return p, c, NewOperator(c, Options{Timeout: 90 * time.Second})
}

// ownSink creates a JDBC sink named after the test and removes it, and
// any table it made, when the test ends.
func ownSink(t *testing.T, p *testenv.Pipeline, c *connect.Client) string {
	t.Helper()
	name := fmt.Sprintf("ops-it-%d", rand.Uint32())
	table := strings.ReplaceAll(name, "-", "_")
	cfg := p.JDBCSink(name, table)
	db := p.TargetDB(t) // closed after the cleanup below drops the table
	cfg["schema.evolution"] = "basic"
	if _, err := c.PutConfig(context.Background(), name, cfg); err != nil {
		t.Fatalf("creating connector %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := c.Delete(context.Background(), name); err != nil {
			t.Logf("deleting %s: %v", name, err)
		}
		_, _ = db.Exec(`DROP TABLE IF EXISTS "` + table + `"`)
	})
	return name
}

func TestRealWorkerLifecycle(t *testing.T) {
	p, c, op := realOperator(t)
	name := ownSink(t, p, c)
	ctx := context.Background()

	step := func(action actionkind.Kind, want string) {
		t.Helper()
		targets, err := op.Resolve(ctx, []string{name}, false)
		if err != nil {
			t.Fatal(err)
		}
		res := op.Do(ctx, CommandAction(action, false, nil), targets)[0]
		if !res.OK {
			t.Fatalf("%s: %v", action, res.Err)
		}
		if res.State != want {
			t.Fatalf("%s: reached %q, want %q", action, res.State, want)
		}
		// The worker must agree once more, read independently.
		s, err := c.Status(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got := DescribeState(s); got != want {
			t.Fatalf("after %s the worker reports %q, want %q", action, got, want)
		}
		t.Logf("%s: %s in %s", action, res.State, res.Elapsed)
	}

	// A new connector starts on its own; resume waits for it to run.
	step(actionkind.Resume, "connector RUNNING, 1 task RUNNING")
	step(actionkind.Pause, "connector PAUSED, 1 task PAUSED")
	step(actionkind.Restart, "connector PAUSED, 1 task PAUSED")
	step(actionkind.Resume, "connector RUNNING, 1 task RUNNING")
	step(actionkind.Restart, "connector RUNNING, 1 task RUNNING")
	step(actionkind.Stop, "connector STOPPED, no tasks")
	step(actionkind.Resume, "connector RUNNING, 1 task RUNNING")

	res, err := op.Scale(ctx, name, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.State != "connector RUNNING, 2 tasks RUNNING" || len(res.Warnings) != 0 {
		t.Fatalf("scale to 2: %+v", res)
	}
	cfg, err := c.Config(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if cfg["tasks.max"] != "2" || cfg["collection.name.format"] == "" {
		t.Errorf("config after scale: %v", cfg)
	}
	if res, err := op.Scale(ctx, name, 1, false); err != nil || !res.OK || res.State != "connector RUNNING, 1 task RUNNING" {
		t.Fatalf("scale back to 1: %+v, %v", res, err)
	}

	l, err := connectorlist.List(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cv := range l.Connectors {
		if cv.Name == name {
			found = cv.State == "RUNNING" && len(cv.Tasks) == 1 && cv.Tasks[0].WorkerID != ""
		}
	}
	if !found || len(l.Workers) == 0 {
		t.Errorf("listing does not show %s running on a worker: %+v", name, l)
	}
}

func TestRealWorkerUnknownConnector(t *testing.T) {
	_, _, op := realOperator(t)
	_, err := op.Resolve(context.Background(), []string{"no-such-connector-xyz"}, false)
	if err == nil || !strings.Contains(err.Error(), `unknown connector "no-such-connector-xyz" on connect cluster local`) {
		t.Fatalf("got %v", err)
	}
}
