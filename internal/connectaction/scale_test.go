package connectaction

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

func TestScaleChangesOnlyTasksMaxAndWaitsForTheNewTasks(t *testing.T) {
	for _, from := range []string{connect.StateRunning, connect.StatePaused} {
		t.Run("from "+from, func(t *testing.T) {
			f, c := newFake(t)
			f.Lag = 2
			conn := f.Add("sink-a", jdbcSink, from, 1)
			conn.Config["topics.regex"] = `demo\.inventory\.(.*)`
			conn.Config["connection.password"] = "s3cret"
			res, err := NewOperator(c, fastOptions).Scale(context.Background(), "sink-a", 3, false)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || res.Previous != 1 {
				t.Fatalf("result %+v, want success from tasks.max 1", res)
			}
			if want := "connector " + from + ", 3 tasks " + from; res.State != want {
				t.Errorf("state %q, want %q", res.State, want)
			}
			want := map[string]string{"name": "sink-a", "connector.class": jdbcSink, "tasks.max": "3", "topics": "sink-a",
				"topics.regex": `demo\.inventory\.(.*)`, "connection.password": "s3cret"}
			if len(conn.Config) != len(want) {
				t.Errorf("config after scale %v, want %v", conn.Config, want)
			}
			for k, v := range want {
				if conn.Config[k] != v {
					t.Errorf("config %s = %q, want %q", k, conn.Config[k], v)
				}
			}
		})
	}
}

func TestScaleOfAStoppedConnectorWaitsForTheConfigOnly(t *testing.T) {
	f, c := newFake(t)
	conn := f.Add("sink-a", jdbcSink, connect.StateStopped, 1)
	conn.Status.Tasks = nil
	res, err := NewOperator(c, fastOptions).Scale(context.Background(), "sink-a", 2, false)
	if err != nil || !res.OK {
		t.Fatalf("scale = %+v, %v", res, err)
	}
	if conn.Config["tasks.max"] != "2" {
		t.Errorf("tasks.max = %s, want 2", conn.Config["tasks.max"])
	}
}

func TestScaleToTheCurrentValueSendsNothing(t *testing.T) {
	f, c := newFake(t)
	f.Add("sink-a", jdbcSink, connect.StateRunning, 2)
	res, err := NewOperator(c, fastOptions).Scale(context.Background(), "sink-a", 2, false)
	if err != nil || !res.Unchanged || !res.OK {
		t.Fatalf("scale = %+v, %v; want unchanged", res, err)
	}
	if reqs := f.Requests("PUT "); len(reqs) != 0 {
		t.Errorf("sent %v", reqs)
	}
}

func TestScaleErrors(t *testing.T) {
	f, c := newFake(t)
	f.Add("sink-a", jdbcSink, connect.StateRunning, 1)
	op := NewOperator(c, fastOptions)
	cases := []struct {
		name  string
		tasks int
		fail  string
		want  string
	}{
		{"sink-a", 0, "", "--tasks must be at least 1, got 0"},
		{"sink-a", -2, "", "--tasks must be at least 1, got -2"},
		{"nope", 2, "", `unknown connector "nope" on connect cluster fake (it has: sink-a)`},
		{"sink-a", 2, "/connectors/sink-a/config", "reading configuration of sink-a: connect cluster fake: GET /connectors/sink-a/config: 500: worker on fire"},
	}
	for _, tc := range cases {
		f.Fail = map[string]bool{tc.fail: tc.fail != ""}
		_, err := op.Scale(context.Background(), tc.name, tc.tasks, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Scale(%s, %d) = %v, want %q", tc.name, tc.tasks, err, tc.want)
		}
	}
	if reqs := f.Requests("PUT "); len(reqs) != 0 {
		t.Errorf("failed scales still sent %v", reqs)
	}
}

// Scaling above what the connector can run is refused, and nothing is
// sent, unless forced; forced, the reason comes back as a warning.
func TestScaleAboveTheConnectorsTaskLimit(t *testing.T) {
	cases := []struct {
		name  string
		class string
		cfg   map[string]string
		tasks int
		want  string
	}{
		{"sql server, more tasks than databases", connectorkind.ClassSQLServer, map[string]string{"database.names": "inventory, sales"}, 3,
			"refusing to scale src: tasks.max=3 is above 2: the Debezium SQL Server source runs at most one task per database, and database.names lists 2 (inventory, sales); pass --force to set it anyway"},
		{"sql server, above 8", connectorkind.ClassSQLServer, map[string]string{"database.names": "a,b,c,d,e,f,g,h,i,j"}, 9,
			"tasks.max=9 is above 8"},
		{"sql server, legacy database.dbname", connectorkind.ClassSQLServer, map[string]string{"database.dbname": "inventory"}, 2,
			"tasks.max=2 is above 1"},
		{"postgres source", connectorkind.ClassPostgres, nil, 2,
			"tasks.max=2 is above 1: the Debezium PostgreSQL source always runs a single task"},
		{"confluent sink into postgres", connectorkind.ClassConfluentJDBC, map[string]string{"connection.url": "jdbc:postgresql://pg/target"}, 33,
			"tasks.max=33 is above 32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t)
			conn := f.Add("src", tc.class, connect.StateRunning, 1)
			for k, v := range tc.cfg {
				conn.Config[k] = v
			}
			op := NewOperator(c, fastOptions)
			_, err := op.Scale(context.Background(), "src", tc.tasks, false)
			var limit *TasksAboveLimitError
			if !errors.As(err, &limit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Scale = %v, want a refusal with %q", err, tc.want)
			}
			if reqs := f.Requests("PUT "); len(reqs) != 0 {
				t.Fatalf("a refused scale sent %v", reqs)
			}
			res, err := op.Scale(context.Background(), "src", tc.tasks, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "is above") {
				t.Errorf("forced scale warnings %q", res.Warnings)
			}
			if conn.Config["tasks.max"] != strconv.Itoa(tc.tasks) {
				t.Errorf("forced scale left tasks.max=%s", conn.Config["tasks.max"])
			}
		})
	}
	// Within the limit nothing is refused or warned about.
	f, c := newFake(t)
	conn := f.Add("src", connectorkind.ClassSQLServer, connect.StateRunning, 1)
	conn.Config["database.names"] = "a,b"
	res, err := NewOperator(c, fastOptions).Scale(context.Background(), "src", 2, false)
	if err != nil || len(res.Warnings) != 0 {
		t.Errorf("scale within the limit = %+v, %v", res, err)
	}
}
