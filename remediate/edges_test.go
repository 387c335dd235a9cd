package remediate

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

func TestWebhookRejectsWhatIsNotAPayload(t *testing.T) {
	h := newHarness(t, "\n  max_body_bytes: 512"+restartTaskRule, newFakeConnect())
	cases := []struct {
		name, method, body string
		code               int
		want               string
	}{
		{"not json", "POST", "{", 400, "invalid webhook payload: not JSON"},
		{"empty", "POST", "", 400, "invalid webhook payload: empty body"},
		{"no version", "POST", `{"alerts":[]}`, 400, "no version field"},
		{"version 3", "POST", `{"version":"3","alerts":[{}]}`, 400, `version "3" is not supported`},
		{"no alerts", "POST", `{"version":"4","status":"firing","alerts":[]}`, 400, "no alerts"},
		{"bad status", "POST", `{"version":"4","alerts":[{"status":"pending","labels":{"a":"b"},"startsAt":"2025-01-01T00:00:00Z"}]}`, 400, `alerts[0]: status "pending"`},
		{"no startsAt", "POST", `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"}}]}`, 400, "alerts[0]: no startsAt"},
		{"too large", "POST", `{"version":"4","alerts":[{"status":"firing","labels":{"a":"` + strings.Repeat("x", 600) + `"}}]}`, 413, "max_body_bytes (512)"},
		{"too large after the object", "POST", `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2025-01-01T00:00:00Z"}]}` + strings.Repeat(" ", 600), 413, "max_body_bytes (512)"},
		{"closing brace after the object", "POST", `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2025-01-01T00:00:00Z"}]}}`, 400, "trailing data"},
		{"get", "GET", "", 405, "POST"},
		// The older shape, without notification_reason or routeLabels
		// and without a fingerprint (Alertmanager < 0.19), is accepted.
		{"old shape", "POST", `{"version":"4","status":"firing","receiver":"r","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"","groupKey":"{}","alerts":[{"status":"firing","labels":{"alertname":"Other"},"annotations":{},"startsAt":"2025-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":""}]}`, 200, `"alerts":1`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, h.srv.URL+"/alerts", strings.NewReader(c.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			_, _ = fmt.Fprint(&b, readAll(resp))
			if resp.StatusCode != c.code || !strings.Contains(b.String(), c.want) {
				t.Fatalf("%d %q; want %d containing %q", resp.StatusCode, b.String(), c.code, c.want)
			}
		})
	}
}

func readAll(resp *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

func TestAuditAPIFiltersAndValidates(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, connect.TaskInfo{ID: 0, State: connect.StateRunning})
	h := newHarness(t, restartTaskRule, fc)
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, taskAlert(start)...))
	h.waitAudit(1)
	for q, want := range map[string]struct {
		code int
		body string
	}{
		"":                          {200, `"outcome":"not_needed"`},
		"?rule=restart-failed-task": {200, `"rule":"restart-failed-task"`},
		"?rule=other":               {200, `[]`},
		"?limit=0":                  {400, `limit "0" is not a positive integer`},
		"?since=yesterday":          {400, `since "yesterday" is neither`},
		"?since=1h&limit=5":         {200, `"action":"restart_task"`},
		// The alert's connector label; lists, repeated or comma-separated.
		"?connector=sink":                       {200, `"connector":"sink"`},
		"?connector=other":                      {200, `[]`},
		"?connector=other,sink":                 {200, `"connector":"sink"`},
		"?connector=other&connector=sink":       {200, `"connector":"sink"`},
		"?connector=.*&outcome=not_needed":      {200, `"connector":"sink"`}, // Grafana's All
		"?connector=sink&connect_cluster=other": {200, `[]`},
		"?outcome=success":                      {200, `[]`},
		"?table=orders":                         {200, `[]`},
		"?table=":                               {400, `table "": an empty name`},
		"?outcome=not_needed,failure":           {200, `"outcome":"not_needed"`},
		"?outcome=sucess":                       {400, `outcome "sucess" is not one of success, failure,`},
		"?connector=":                           {400, `connector "": an empty name`},
		"?connector=sink,":                      {400, `connector "sink,": an empty name`},
		"?conector=sink":                        {400, `unknown query parameter "conector"; known: connect_cluster, connector, limit, outcome, rule, since, table`},
		"?var-connector=sink":                   {400, `unknown query parameter "var-connector"`},
	} {
		resp, err := http.Get(h.srv.URL + "/api/v1/remediations" + q)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		resp.Body.Close()
		if resp.StatusCode != want.code || !strings.Contains(body, want.body) {
			t.Errorf("%q: %d %s; want %d and %s", q, resp.StatusCode, body, want.code, want.body)
		}
	}
}

// Connect answers 409 while it rebalances; the client retries, and the
// remediation goes through once the rebalance is over.
func TestRebalanceConflictIsRetriedAndDeadConnectIsRecorded(t *testing.T) {
	var restarted atomic.Bool
	var conflicts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/connectors/sink/tasks/0/restart":
			if conflicts.Add(1) <= 2 {
				w.WriteHeader(409)
				fmt.Fprint(w, `{"error_code":409,"message":"Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"}`)
				return
			}
			restarted.Store(true)
			w.WriteHeader(204)
		case r.URL.Path == "/connectors/sink/status":
			state := "FAILED"
			if restarted.Load() {
				state = "RUNNING"
			}
			fmt.Fprintf(w, `{"name":"sink","connector":{"state":"RUNNING","worker_id":"w:8083"},"tasks":[{"id":0,"state":%q,"worker_id":"w:8083","trace":"boom"}],"type":"sink"}`, state)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	client, err := connect.New(config.ConnectCluster{Name: "main", URL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, restartTaskRule, client)
	start := h.clock.Now().Add(-time.Minute)
	h.notify(firing(start, taskAlert(start)...))
	rec := h.waitAudit(1)[0]
	if rec.Outcome != OutcomeSuccess || conflicts.Load() != 3 {
		t.Fatalf("after two 409s: %+v (%d restart requests)", rec, conflicts.Load())
	}

	// Connect down: nothing is done, the failure says why, and a later
	// delivery of the same episode may try again.
	dead, _ := connect.New(config.ConnectCluster{Name: "main", URL: "http://127.0.0.1:1", Timeout: time.Second})
	h2 := newHarness(t, restartTaskRule, dead)
	h2.notify(firing(start, taskAlert(start)...))
	rec = h2.waitAudit(1)[0]
	if rec.Outcome != OutcomeFailure || !strings.Contains(rec.Error, "reading the status of sink") || !strings.Contains(rec.Error, "connection refused") {
		t.Fatalf("Connect down: %+v", rec)
	}
	j, _ := h2.store.Job(context.Background(), store.JobKey(rec.Alert.Fingerprint, start, "restart-failed-task", store.PhaseFiring))
	if j == nil || !j.Retry {
		t.Fatalf("job after Connect down: %+v", j)
	}
}

// Two replicas on one PostgreSQL store receive every notification (as an
// Alertmanager HA pair sends them): exactly one acts per episode.
func TestTwoReplicasOnPostgresActExactlyOnce(t *testing.T) {
	dsn := testenv.TempDatabase(t, "rem_replicas")
	ctx := context.Background()

	fc := newFakeConnect()
	const episodes = 20
	for i := 0; i < episodes; i++ {
		fc.set(fmt.Sprintf("sink-%d", i), connect.StateRunning, failedTask("boom"))
	}
	var replicas []*harness
	for i := 0; i < 2; i++ {
		s, err := store.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		h := &harness{t: t, cfg: parseConfig(t, restartTaskRule), conn: fc, store: s, clusterName: "main",
			clock: &clock{now: time.Now().Add(-24 * time.Hour)}}
		h.metrics, _ = NewMetrics(nil)
		h.start()
		t.Cleanup(h.stop)
		replicas = append(replicas, h)
	}
	start := replicas[0].clock.Now().Add(-time.Minute)
	var wg sync.WaitGroup
	for i := 0; i < episodes; i++ {
		a := firing(start, "alertname", "CDCConnectorTaskFailed", "severity", "critical", "connector", fmt.Sprintf("sink-%d", i), "task", "0")
		for _, h := range replicas {
			wg.Add(1)
			go func(h *harness) { defer wg.Done(); h.notify(a) }(h)
		}
	}
	wg.Wait()
	replicas[0].waitAuditFor(episodes, 30*time.Second)
	for _, h := range replicas {
		h.settle()
	}
	recs := replicas[1].waitAudit(episodes)
	if len(recs) != episodes {
		t.Fatalf("%d audit records, want %d", len(recs), episodes)
	}
	byReplica := map[string]int{}
	for _, r := range recs {
		if r.Outcome != OutcomeSuccess {
			t.Errorf("record: %+v", r)
		}
		byReplica[r.Replica]++
	}
	if n := len(fc.Calls()); n != episodes {
		t.Fatalf("%d restarts for %d episodes: %v", n, episodes, fc.Calls())
	}
	t.Logf("actions by replica: %v", byReplica)
}
