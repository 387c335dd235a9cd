// Package connecttest is a fake Kafka Connect REST API for tests, written
// from Connect's REST semantics (ConnectorsResource and the herder):
// actions are answered at once and show in the status only after a few
// reads, as they do through the status topic.
package connecttest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// Fake is a Connect worker whose connectors' state the test controls.
type Fake struct {
	t  testing.TB
	mu sync.Mutex
	// Conn are the connectors by name. Lock Mu around changes made
	// while requests may be served.
	Conn map[string]*Connector
	// Lag is how many status reads still show the old state after an
	// action.
	Lag int
	// Fail makes every request for the path answer 500.
	Fail map[string]bool
	// After, when set, runs after each action ("pause", "resume",
	// "stop", "restart", "restart_task", "config") has changed the
	// state it leads to, to override it.
	After    func(c *Connector, action string)
	requests []string
}

// Connector is one connector of the fake.
type Connector struct {
	Status  connect.Status
	Config  map[string]string
	pending *connect.Status
	reads   int
	Deleted bool
	// Unlisted leaves it out of the expanded listing, as Connect does
	// before a new connector's first status arrives.
	Unlisted bool
}

// New starts a fake worker and a client for it.
func New(t testing.TB) (*Fake, *connect.Client) {
	t.Helper()
	f := &Fake{t: t, Conn: map[string]*Connector{}, Fail: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := connect.New(config.ConnectCluster{Name: "fake", URL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// Lock and Unlock guard changes to the connectors while requests may be
// served.
func (f *Fake) Lock()   { f.mu.Lock() }
func (f *Fake) Unlock() { f.mu.Unlock() }

// Add registers a connector whose instance and tasks are all in state; a
// STOPPED connector has no tasks, whatever tasks says.
func (f *Fake) Add(name, class, state string, tasks int) *Connector {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &Connector{
		Status: connect.Status{Name: name, Type: "sink", Connector: connect.Instance{State: state, WorkerID: "w1:8083"}},
		Config: map[string]string{"name": name, "connector.class": class, "tasks.max": strconv.Itoa(max(tasks, 1)), "topics": name},
	}
	if state != connect.StateStopped {
		for i := 0; i < tasks; i++ {
			c.Status.Tasks = append(c.Status.Tasks, connect.TaskInfo{ID: i, State: state, WorkerID: "w" + strconv.Itoa(i%2+1) + ":8083"})
		}
	}
	f.Conn[name] = c
	return c
}

// SetAll puts the connector and every task in state.
func SetAll(s *connect.Status, state string) {
	s.Connector.State = state
	for i := range s.Tasks {
		s.Tasks[i].State = state
	}
}

// Requests are "METHOD path?query" of the requests so far that start
// with prefix.
func (f *Fake) Requests(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func (c *Connector) info() connect.Info {
	i := connect.Info{Name: c.Status.Name, Config: c.Config, Type: c.Status.Type}
	n, _ := strconv.Atoi(c.Config["tasks.max"])
	for t := 0; t < n; t++ {
		i.Tasks = append(i.Tasks, connect.TaskID{Connector: c.Status.Name, Task: t})
	}
	return i
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if f.Fail[r.URL.Path] {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error_code": 500, "message": "worker on fire"})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 1 && parts[0] == "connectors" {
		f.serveListing(w)
		return
	}
	if len(parts) < 2 || parts[0] != "connectors" {
		http.NotFound(w, r)
		return
	}
	c := f.Conn[parts[1]]
	if c == nil || c.Deleted {
		writeJSON(w, http.StatusNotFound, map[string]any{"error_code": 404, "message": "Connector " + parts[1] + " not found"})
		return
	}
	f.serveConnector(w, r, c, parts[2:])
}

// serveListing answers GET /connectors?expand=status&expand=info.
func (f *Fake) serveListing(w http.ResponseWriter) {
	out := map[string]any{}
	for name, c := range f.Conn {
		if !c.Deleted && !c.Unlisted {
			out[name] = map[string]any{"status": c.Status, "info": c.info()}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// serveConnector answers the requests under /connectors/{name}/; rest is
// the path after the name.
func (f *Fake) serveConnector(w http.ResponseWriter, r *http.Request, c *Connector, rest []string) {
	switch r.Method + " " + strings.Join(rest, "/") {
	case "GET status":
		f.readStatus(c)
		writeJSON(w, http.StatusOK, c.Status)
	case "GET ":
		writeJSON(w, http.StatusOK, c.info())
	case "GET config":
		writeJSON(w, http.StatusOK, c.Config)
	case "PUT config":
		f.putConfig(w, r, c)
	case "PUT pause":
		f.act(c, "pause", func(next *connect.Status) { follow(next, connect.StatePaused, c) })
		w.WriteHeader(http.StatusAccepted)
	case "PUT resume":
		f.act(c, "resume", func(next *connect.Status) { follow(next, connect.StateRunning, c) })
		w.WriteHeader(http.StatusAccepted)
	case "PUT stop":
		f.act(c, "stop", func(next *connect.Status) {
			next.Connector.State, next.Connector.Trace = connect.StateStopped, ""
			next.Tasks = nil
		})
		w.WriteHeader(http.StatusNoContent)
	case "POST restart":
		q := r.URL.Query()
		f.restartConnector(w, c, q.Get("includeTasks") == "true", q.Get("onlyFailed") == "true")
	default:
		if len(rest) == 3 && rest[0] == "tasks" && rest[2] == "restart" && r.Method == http.MethodPost {
			f.restartTask(w, c, rest[1])
			return
		}
		http.NotFound(w, r)
	}
}

// readStatus counts one status read, showing a pending change once Lag
// reads have passed.
func (f *Fake) readStatus(c *Connector) {
	if c.pending == nil {
		return
	}
	if c.reads >= f.Lag {
		c.Status, c.pending, c.reads = *c.pending, nil, 0
		return
	}
	c.reads++
}

// putConfig answers PUT /connectors/{name}/config.
func (f *Fake) putConfig(w http.ResponseWriter, r *http.Request, c *Connector) {
	var cfg map[string]string
	if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
		f.t.Errorf("PUT config: %v", err)
	}
	c.Config = cfg
	f.act(c, "config", func(next *connect.Status) {
		// New task configurations restart every task in the
		// connector's target state; a stopped connector has none.
		if next.Connector.State == connect.StateStopped {
			return
		}
		state := restarted(next.Connector.State)
		next.Connector.State = state
		n, _ := strconv.Atoi(cfg["tasks.max"])
		next.Tasks = nil
		for i := 0; i < n; i++ {
			next.Tasks = append(next.Tasks, connect.TaskInfo{ID: i, State: state, WorkerID: "w1:8083"})
		}
	})
	writeJSON(w, http.StatusOK, c.info())
}

// restartConnector answers POST /connectors/{name}/restart.
func (f *Fake) restartConnector(w http.ResponseWriter, c *Connector, includeTasks, onlyFailed bool) {
	prior := c.Status.Connector.State
	if prior == connect.StateStopped {
		// Nothing runs to restart; the target state stays STOPPED.
		writeJSON(w, http.StatusAccepted, c.Status)
		return
	}
	state := restarted(prior)
	if !includeTasks && !onlyFailed {
		// The old form restarts only the connector instance and
		// answers 204 with no body, the status unchanged meanwhile.
		f.act(c, "restart", func(next *connect.Status) { next.Connector.State, next.Connector.Trace = state, "" })
		w.WriteHeader(http.StatusNoContent)
		return
	}
	restartConn := !onlyFailed || prior == connect.StateFailed
	restartTask := func(t connect.TaskInfo) bool { return includeTasks && (!onlyFailed || t.State == connect.StateFailed) }
	// KIP-745: the herder records RESTARTING for the instances it
	// restarts before answering, so no read shows the old state.
	restarting := clone(c.Status)
	if restartConn {
		restarting.Connector.State = connect.StateRestarting
	}
	for i, t := range restarting.Tasks {
		if restartTask(t) {
			restarting.Tasks[i].State = connect.StateRestarting
		}
	}
	old := c.Status
	c.Status = restarting
	f.act(c, "restart", func(next *connect.Status) {
		*next = clone(old)
		if restartConn {
			next.Connector.State, next.Connector.Trace = state, ""
		}
		for i, t := range next.Tasks {
			if restartTask(t) {
				next.Tasks[i].State, next.Tasks[i].Trace = state, ""
			}
		}
	})
	writeJSON(w, http.StatusAccepted, restarting)
}

// restartTask answers POST /connectors/{name}/tasks/{id}/restart.
func (f *Fake) restartTask(w http.ResponseWriter, c *Connector, task string) {
	id, err := strconv.Atoi(task)
	if err != nil || c.Status.Task(id) == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error_code": 404, "message": "Task not found"})
		return
	}
	state := restarted(c.Status.Connector.State)
	f.act(c, "restart_task", func(next *connect.Status) {
		for i := range next.Tasks {
			if next.Tasks[i].ID == id {
				next.Tasks[i].State, next.Tasks[i].Trace = state, ""
			}
		}
	})
	w.WriteHeader(http.StatusNoContent)
}

// restarted is the state a restarted instance comes back in: the
// connector's target state.
func restarted(prior string) string {
	if prior == connect.StatePaused {
		return connect.StatePaused
	}
	return connect.StateRunning
}

// follow moves the connector and its tasks to a new target state. FAILED
// instances do not follow: they stay FAILED until restarted. A STOPPED
// connector gets its tasks back.
func follow(next *connect.Status, state string, c *Connector) {
	if next.Connector.State == connect.StateStopped {
		n, _ := strconv.Atoi(c.Config["tasks.max"])
		next.Tasks = nil
		for i := 0; i < n; i++ {
			next.Tasks = append(next.Tasks, connect.TaskInfo{ID: i, State: state, WorkerID: "w1:8083"})
		}
	}
	if next.Connector.State != connect.StateFailed {
		next.Connector.State = state
	}
	for i := range next.Tasks {
		if next.Tasks[i].State != connect.StateFailed {
			next.Tasks[i].State = state
		}
	}
}

// act computes the state an action leads to and shows it after Lag
// status reads.
func (f *Fake) act(c *Connector, action string, change func(next *connect.Status)) {
	base := c.Status
	if c.pending != nil {
		base = *c.pending
	}
	next := clone(base)
	change(&next)
	if f.Lag == 0 {
		c.Status, c.pending = next, nil
	} else {
		c.pending, c.reads = &next, 0
	}
	if f.After != nil {
		f.After(c, action)
	}
}

func clone(s connect.Status) connect.Status {
	s.Tasks = append([]connect.TaskInfo(nil), s.Tasks...)
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NopActions gives a scripted client the action methods, each accepted
// and doing nothing.
type NopActions struct{}

func (NopActions) Pause(context.Context, string) error            { return nil }
func (NopActions) Resume(context.Context, string) error           { return nil }
func (NopActions) Stop(context.Context, string) error             { return nil }
func (NopActions) RestartTask(context.Context, string, int) error { return nil }
func (NopActions) RestartConnector(context.Context, string, connect.RestartOptions) (*connect.Status, error) {
	return nil, nil
}

// Local is a client of the local pipeline's real Connect worker, for
// integration tests.
func Local(t testing.TB, p *testenv.Pipeline) *connect.Client {
	t.Helper()
	return LocalAt(t, p.ConnectURL)
}

// LocalAt is Local's client reaching the worker at url instead: through a
// testenv.Proxy, for a test that takes the worker away from its own
// client without stopping the one other tests share.
func LocalAt(t testing.TB, url string) *connect.Client {
	t.Helper()
	c, err := connect.New(config.ConnectCluster{Name: "local", URL: url, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
