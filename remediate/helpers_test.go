package remediate

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	amcommoncfg "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/notify/webhook"
	amtemplate "github.com/prometheus/alertmanager/template"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
	remwebhook "github.com/cdc-sentinel/cdc-sentinel/remediate/webhook"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeConnect is an in-memory Connect cluster for the engine's decision
// logic; the HTTP edges (409, a dead worker) and the real pipeline are
// tested with the real client elsewhere.
type fakeConnect struct {
	mu       sync.Mutex
	statuses map[string]*connect.Status
	calls    []string
	// stayFailed makes restarts leave a task FAILED.
	stayFailed bool
	// onStatus, when set, runs at each status read, outside the lock.
	onStatus func()
}

func newFakeConnect() *fakeConnect { return &fakeConnect{statuses: map[string]*connect.Status{}} }

func (f *fakeConnect) set(name, connState string, tasks ...connect.TaskInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses[name] = &connect.Status{Name: name, Connector: connect.Instance{State: connState}, Tasks: tasks, Type: "sink"}
}

func (f *fakeConnect) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeConnect) Status(_ context.Context, name string) (*connect.Status, error) {
	if f.onStatus != nil {
		f.onStatus()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.statuses[name]
	if s == nil {
		return nil, &connect.APIError{Cluster: "main", Method: "GET", Path: "/connectors/" + name + "/status", Status: 404, Message: "No status found for connector " + name}
	}
	c := *s
	c.Tasks = append([]connect.TaskInfo(nil), s.Tasks...)
	return &c, nil
}

func (f *fakeConnect) RestartTask(_ context.Context, name string, task int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("restart_task %s/%d", name, task))
	if s := f.statuses[name]; s != nil && !f.stayFailed {
		for i := range s.Tasks {
			if s.Tasks[i].ID == task {
				s.Tasks[i].State, s.Tasks[i].Trace = connect.StateRunning, ""
			}
		}
	}
	return nil
}

func (f *fakeConnect) RestartConnector(_ context.Context, name string, o connect.RestartOptions) (*connect.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("restart_connector %s includeTasks=%t onlyFailed=%t", name, o.IncludeTasks, o.OnlyFailed))
	if s := f.statuses[name]; s != nil && !f.stayFailed {
		s.Connector.State = connect.StateRunning
		for i := range s.Tasks {
			s.Tasks[i].State = connect.StateRunning
		}
	}
	return nil, nil
}

func (f *fakeConnect) setAll(name, state string) {
	if s := f.statuses[name]; s != nil {
		s.Connector.State = state
		for i := range s.Tasks {
			if s.Tasks[i].State != connect.StateFailed {
				s.Tasks[i].State = state
			}
		}
	}
}

func (f *fakeConnect) Pause(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "pause "+name)
	f.setAll(name, connect.StatePaused)
	return nil
}

func (f *fakeConnect) Stop(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+name)
	if s := f.statuses[name]; s != nil {
		s.Connector.State, s.Tasks = connect.StateStopped, nil
	}
	return nil
}

func (f *fakeConnect) Resume(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "resume "+name)
	f.setAll(name, connect.StateRunning)
	return nil
}

// harness runs an Engine behind its HTTP handler and sends it
// notifications through Alertmanager's own webhook notifier.
type harness struct {
	t        testing.TB
	cfg      *config.Config
	clock    *clock
	conn     Connect
	store    store.Store
	dbPath   string
	eng      *Engine
	srv      *httptest.Server
	notifier *webhook.Notifier
	metrics  *Metrics
	ownStore bool
	// clusterName is the Connect cluster conn stands for.
	clusterName string
	// lease, when set, replaces the engine's job lease.
	lease time.Duration
	// afterSend, when set, is the engine's hook right after a send.
	afterSend  func(*store.Job)
	reconciler Reconciler
	// tablesFed, when set, finds the tables a loss went through.
	tablesFed TablesFed
	// tracing, when set, traces the engine.
	tracing *tracing.Provider
	// gate, when set, bounds the endpoints' waits on the store.
	gate *store.Gate
	// logger, when set, is the engine's logger.
	logger *slog.Logger
	// tables are the configured tables' names.
	tables []string
}

const baseConfig = `
connect_clusters:
  - name: main
    url: http://127.0.0.1:1
remediation:
  verify_timeout: 2s
`

func parseConfig(t testing.TB, remediationYAML string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yml", []byte(baseConfig+remediationYAML))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newHarness(t testing.TB, rulesYAML string, conn Connect) *harness {
	t.Helper()
	return newHarnessWith(t, rulesYAML, conn)
}

// newHarnessWith is newHarness with settings applied before the engine
// starts.
func newHarnessWith(t testing.TB, rulesYAML string, conn Connect, opts ...func(*harness)) *harness {
	t.Helper()
	h := &harness{
		t: t, cfg: parseConfig(t, rulesYAML), conn: conn,
		// A day behind the wall clock: Alertmanager's notifier decides
		// firing/resolved against the real time, so resolved alerts end
		// in the real past and firing ones in its future.
		clock:  &clock{now: time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)},
		dbPath: filepath.Join(t.TempDir(), BoltFile), clusterName: "main",
	}
	m, err := NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	h.metrics = m
	for _, o := range opts {
		o(h)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	if h.store == nil {
		s, err := store.OpenBolt(h.dbPath)
		if err != nil {
			h.t.Fatal(err)
		}
		h.store, h.ownStore = s, true
	}
	eng, err := NewEngine(Options{
		Config: h.cfg.Remediation, Clusters: map[string]Connect{h.clusterName: h.conn}, Reconciler: h.reconciler, TablesFed: h.tablesFed,
		Store: h.store, Metrics: h.metrics, Replica: fmt.Sprintf("test-%p", h),
		VerifyInterval: 10 * time.Millisecond, PollInterval: 20 * time.Millisecond, RequeueDelay: 20 * time.Millisecond,
		Now: h.clock.Now, Tracing: h.tracing, Gate: h.gate, Logger: h.logger, Tables: h.tables,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if h.lease > 0 {
		eng.lease = h.lease
	}
	eng.afterSend = h.afterSend
	h.eng = eng
	eng.Start()
	h.srv = httptest.NewServer(eng.handler())
	n, err := webhook.New(&webhook.WebhookConfig{
		URL:        amcommoncfg.SecretTemplateURL(h.srv.URL + "/alerts"),
		HTTPConfig: &commoncfg.HTTPClientConfig{},
	}, amTemplate(h.t), promslog.NewNopLogger())
	if err != nil {
		h.t.Fatal(err)
	}
	h.notifier = n
}

// stop closes the engine and the store, as a process exit would.
func (h *harness) stop() {
	if h.srv != nil {
		h.srv.Close()
		h.srv = nil
	}
	if h.eng != nil {
		h.eng.Close()
		h.eng = nil
	}
	if h.store != nil && h.ownStore {
		h.store.Close()
		h.store = nil
	}
}

func amTemplate(t testing.TB) *amtemplate.Template {
	tmpl, err := amtemplate.FromGlobs(nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.ExternalURL, _ = url.Parse("http://alertmanager:9093")
	return tmpl
}

// notify sends alerts as Alertmanager's webhook notifier does, with the
// harness clock as Alertmanager's "now" (which decides resolved/firing).
func (h *harness) notify(alerts ...*alert.Alert) {
	h.t.Helper()
	ctx := notify.WithGroupKey(context.Background(), `{}:{alertname="CDCConnectorTaskFailed"}`)
	ctx = notify.WithReceiverName(ctx, "cdc-sentinel")
	ctx = notify.WithGroupLabels(ctx, model.LabelSet{"alertname": alerts[0].Labels["alertname"]})
	ctx = notify.WithNow(ctx, h.clock.Now())
	if v := h.notifier.Notify(ctx, alerts...); v.Err() != nil {
		h.t.Fatalf("Alertmanager's notifier failed: %v", v.Err())
	}
}

// firing builds an alert that started at startsAt and is still firing.
func firing(startsAt time.Time, kv ...string) *alert.Alert {
	ls := model.LabelSet{}
	for i := 0; i+1 < len(kv); i += 2 {
		ls[model.LabelName(kv[i])] = model.LabelValue(kv[i+1])
	}
	return alert.New(model.Alert{Labels: ls, StartsAt: startsAt, EndsAt: startsAt.Add(1000 * time.Hour)}, startsAt, false)
}

// resolved is the same episode, ended at endsAt.
func resolved(a *alert.Alert, endsAt time.Time) *alert.Alert {
	m := a.Alert
	m.EndsAt = endsAt
	return alert.New(m, endsAt, false)
}

// waitAudit waits for n audit records and returns them oldest first.
func (h *harness) waitAudit(n int) []store.Record {
	h.t.Helper()
	return h.waitAuditFor(n, 10*time.Second)
}

func (h *harness) waitAuditFor(n int, within time.Duration) []store.Record {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		recs, err := h.store.Audit(context.Background(), store.AuditQuery{Limit: 1000})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(recs) >= n {
			for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
				recs[i], recs[j] = recs[j], recs[i]
			}
			return recs
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("got %d audit records, want %d: %+v", len(recs), n, recs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits for the queue to drain: nothing pending, nothing running,
// no worker busy. The store is asked again after the workers are seen
// idle, so a job a worker queued on its way out (a requeue) is not missed.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		before, err := h.store.Backlog(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		busy := h.eng.busy.Load()
		after, err := h.store.Backlog(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if before == 0 && busy == 0 && after == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the remediation queue did not drain: %d jobs open, %d workers busy", after, busy)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func outcomes(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Rule + ":" + r.Action + ":" + r.Outcome
	}
	return out
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// handler serves the engine's endpoints, as the server's API mux does.
func (e *Engine) handler() http.Handler {
	return remwebhook.Handler(e, e, remwebhook.Options{MaxBodyBytes: e.cfg.MaxBodyBytes, Logger: e.logger, Now: e.now, Tracing: e.tracing, Outcomes: Outcomes()})
}
