package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

func TestScaleChangesOnlyTasksMaxAndWaitsForTheNewTasks(t *testing.T) {
	for _, from := range []string{connect.StateRunning, connect.StatePaused} {
		t.Run("from "+from, func(t *testing.T) {
			f, c := newFake(t)
			f.lag = 2
			conn := f.add("sink-a", jdbcSink, from, 1)
			conn.config["topics.regex"] = `demo\.inventory\.(.*)`
			conn.config["connection.password"] = "s3cret"
			res, err := New(c, fastOptions).Scale(context.Background(), "sink-a", 3)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || res.Previous != "1" {
				t.Fatalf("result %+v, want success from tasks.max 1", res)
			}
			if want := "connector " + from + ", 3 tasks " + from; res.State != want {
				t.Errorf("state %q, want %q", res.State, want)
			}
			want := map[string]string{"name": "sink-a", "connector.class": jdbcSink, "tasks.max": "3", "topics": "sink-a",
				"topics.regex": `demo\.inventory\.(.*)`, "connection.password": "s3cret"}
			if len(conn.config) != len(want) {
				t.Errorf("config after scale %v, want %v", conn.config, want)
			}
			for k, v := range want {
				if conn.config[k] != v {
					t.Errorf("config %s = %q, want %q", k, conn.config[k], v)
				}
			}
		})
	}
}

func TestScaleOfAStoppedConnectorWaitsForTheConfigOnly(t *testing.T) {
	f, c := newFake(t)
	conn := f.add("sink-a", jdbcSink, connect.StateStopped, 1)
	conn.status.Tasks = nil
	res, err := New(c, fastOptions).Scale(context.Background(), "sink-a", 2)
	if err != nil || !res.OK {
		t.Fatalf("scale = %+v, %v", res, err)
	}
	if conn.config["tasks.max"] != "2" {
		t.Errorf("tasks.max = %s, want 2", conn.config["tasks.max"])
	}
}

func TestScaleToTheCurrentValueSendsNothing(t *testing.T) {
	f, c := newFake(t)
	f.add("sink-a", jdbcSink, connect.StateRunning, 2)
	res, err := New(c, fastOptions).Scale(context.Background(), "sink-a", 2)
	if err != nil || !res.Unchanged || !res.OK {
		t.Fatalf("scale = %+v, %v; want unchanged", res, err)
	}
	if reqs := f.requestsMatching("PUT "); len(reqs) != 0 {
		t.Errorf("sent %v", reqs)
	}
}

func TestScaleErrors(t *testing.T) {
	f, c := newFake(t)
	f.add("sink-a", jdbcSink, connect.StateRunning, 1)
	op := New(c, fastOptions)
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
		f.fail = map[string]bool{tc.fail: tc.fail != ""}
		_, err := op.Scale(context.Background(), tc.name, tc.tasks)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Scale(%s, %d) = %v, want %q", tc.name, tc.tasks, err, tc.want)
		}
	}
	if reqs := f.requestsMatching("PUT "); len(reqs) != 0 {
		t.Errorf("failed scales still sent %v", reqs)
	}
}

func TestScaleWarnings(t *testing.T) {
	cases := []struct {
		name string
		cfg  map[string]string
		n    int
		want string
	}{
		{"sql server, more tasks than databases", map[string]string{"connector.class": ClassSQLServer, "database.names": "inventory, sales"}, 4,
			"io.debezium.connector.sqlserver.SqlServerConnector runs at most one task per database in database.names (2: inventory, sales): tasks.max=4 still gives at most 2 task(s)"},
		{"sql server, one task per database", map[string]string{"connector.class": ClassSQLServer, "database.names": "inventory,sales"}, 2, ""},
		{"sql server, legacy database.dbname", map[string]string{"connector.class": ClassSQLServer, "database.dbname": "inventory"}, 2,
			"(1: inventory): tasks.max=2 still gives at most 1 task(s)"},
		{"postgres source", map[string]string{"connector.class": ClassPostgreSQL}, 3,
			"io.debezium.connector.postgresql.PostgresConnector always runs a single task: tasks.max=3 changes nothing"},
		{"postgres source, one task", map[string]string{"connector.class": ClassPostgreSQL}, 1, ""},
		{"jdbc sink", map[string]string{"connector.class": jdbcSink}, 8, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(ScaleWarnings(tc.cfg, tc.n), "\n")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}
