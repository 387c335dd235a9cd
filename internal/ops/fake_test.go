package ops

import (
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
)

// fakeConnect is a Kafka Connect REST API with connectors whose state the
// test controls. An action changes the state only after `lag` status
// reads, the way a real worker's status arrives late through the status
// topic.
type fakeConnect struct {
	t    *testing.T
	mu   sync.Mutex
	conn map[string]*fakeConnector
	// lag is how many status reads still show the old state.
	lag int
	// fail makes every request for the path answer 500.
	fail map[string]bool
	// requests records "METHOD path?query" of each request.
	requests []string
	// after, when set, decides the state an action leads to instead of
	// the defaults (pause → PAUSED and so on).
	after func(c *fakeConnector, action string)
}

type fakeConnector struct {
	status  connect.Status
	config  map[string]string
	pending *connect.Status
	reads   int
	deleted bool
	// unlisted leaves it out of the expanded listing, as Connect does
	// before a new connector's first status arrives.
	unlisted bool
}

func newFake(t *testing.T) (*fakeConnect, *connect.Client) {
	t.Helper()
	f := &fakeConnect{t: t, conn: map[string]*fakeConnector{}, fail: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := connect.New(config.ConnectCluster{Name: "fake", URL: srv.URL, Timeout: 5 * time.Second},
		connect.WithRetry(connect.Retry{Initial: time.Millisecond, Attempts: 2}))
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// add registers a connector whose instance and tasks are all in state.
func (f *fakeConnect) add(name, class, state string, tasks int) *fakeConnector {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeConnector{
		status: connect.Status{Name: name, Type: "sink", Connector: connect.Instance{State: state, WorkerID: "w1:8083"}},
		config: map[string]string{"name": name, "connector.class": class, "tasks.max": strconv.Itoa(tasks), "topics": name},
	}
	for i := 0; i < tasks; i++ {
		c.status.Tasks = append(c.status.Tasks, connect.TaskInfo{ID: i, State: state, WorkerID: "w" + strconv.Itoa(i%2+1) + ":8083"})
	}
	f.conn[name] = c
	return c
}

func setAll(s *connect.Status, state string) {
	s.Connector.State = state
	for i := range s.Tasks {
		s.Tasks[i].State = state
	}
}

func (c *fakeConnector) info() connect.Info {
	i := connect.Info{Name: c.status.Name, Config: c.config, Type: c.status.Type}
	n, _ := strconv.Atoi(c.config["tasks.max"])
	for t := 0; t < n; t++ {
		i.Tasks = append(i.Tasks, connect.TaskID{Connector: c.status.Name, Task: t})
	}
	return i
}

func (f *fakeConnect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if f.fail[r.URL.Path] {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]any{"error_code": 500, "message": "worker on fire"})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 1 && parts[0] == "connectors" {
		out := map[string]any{}
		for name, c := range f.conn {
			if !c.deleted && !c.unlisted {
				out[name] = map[string]any{"status": c.status, "info": c.info()}
			}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	c := f.conn[parts[1]]
	if c == nil || c.deleted {
		writeJSON(w, http.StatusNotFound, map[string]any{"error_code": 404, "message": "Connector " + parts[1] + " not found"})
		return
	}
	rest := strings.Join(parts[2:], "/")
	switch r.Method + " " + rest {
	case "GET status":
		if c.pending != nil {
			if c.reads >= f.lag {
				c.status, c.pending, c.reads = *c.pending, nil, 0
			} else {
				c.reads++
			}
		}
		writeJSON(w, http.StatusOK, c.status)
	case "GET ":
		writeJSON(w, http.StatusOK, c.info())
	case "GET config":
		writeJSON(w, http.StatusOK, c.config)
	case "PUT config":
		var cfg map[string]string
		if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
			f.t.Errorf("PUT config: %v", err)
		}
		c.config = cfg
		n, _ := strconv.Atoi(cfg["tasks.max"])
		next := c.status
		next.Tasks = nil
		for i := 0; i < n; i++ {
			next.Tasks = append(next.Tasks, connect.TaskInfo{ID: i, State: c.status.Connector.State, WorkerID: "w1:8083"})
		}
		f.transition(c, "config", next)
		writeJSON(w, http.StatusOK, c.info())
	case "PUT pause", "PUT resume", "PUT stop", "POST restart":
		action := strings.TrimPrefix(strings.TrimPrefix(r.Method+" "+rest, "PUT "), "POST ")
		next := c.status
		next.Tasks = append([]connect.TaskInfo(nil), c.status.Tasks...)
		switch action {
		case "pause":
			next.Connector.State = connect.StatePaused
			for i := range next.Tasks {
				if next.Tasks[i].State != connect.StateFailed {
					next.Tasks[i].State = connect.StatePaused
				}
			}
		case "resume":
			next.Connector.State = connect.StateRunning
			for i := range next.Tasks {
				if next.Tasks[i].State != connect.StateFailed {
					next.Tasks[i].State = connect.StateRunning
				}
			}
			if len(next.Tasks) == 0 {
				n, _ := strconv.Atoi(c.config["tasks.max"])
				for i := 0; i < n; i++ {
					next.Tasks = append(next.Tasks, connect.TaskInfo{ID: i, State: connect.StateRunning, WorkerID: "w1:8083"})
				}
			}
		case "stop":
			next.Connector.State = connect.StateStopped
			next.Tasks = nil
		case "restart":
			state := connect.StateRunning
			if c.status.Connector.State == connect.StatePaused {
				state = connect.StatePaused
			}
			setAll(&next, state)
		}
		if action == "restart" {
			// KIP-745: the herder records RESTARTING for the instances it
			// restarts before answering, so no read shows the old state.
			restarting := c.status
			restarting.Tasks = append([]connect.TaskInfo(nil), c.status.Tasks...)
			setAll(&restarting, connect.StateRestarting)
			c.status = restarting
		}
		f.transition(c, action, next)
		if f.after != nil {
			f.after(c, action)
		}
		if action == "restart" {
			writeJSON(w, http.StatusAccepted, c.status)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeConnect) transition(c *fakeConnector, _ string, next connect.Status) {
	if f.lag == 0 {
		c.status = next
		return
	}
	c.pending, c.reads = &next, 0
}

func (f *fakeConnect) requestsMatching(prefix string) []string {
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fastOptions poll quickly so the tests take milliseconds.
var fastOptions = Options{Timeout: 2 * time.Second, PollInterval: 5 * time.Millisecond, Settle: 2, FailedGrace: 50 * time.Millisecond}
