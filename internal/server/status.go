package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cdc-sentinel/cdc-sentinel/collector"
	"github.com/cdc-sentinel/cdc-sentinel/internal/promreg"
)

// Landing is what the landing page says of the process: its name,
// version and the links to its endpoints.
type Landing struct {
	Name, Description, Version string
	Links                      []Link
}

// Link is one endpoint the landing page links.
type Link struct{ Address, Text string }

// readForStatus tells the collectors the landing page reads: Connect's
// states, the tables' lag and the reconcile results. Drift, DLQ and the
// others stay on the scrape's schedule.
func readForStatus(name string) bool {
	switch name {
	case "connect", "lag", "reconcile":
		return true
	}
	return false
}

// statusTimeout bounds the reads behind one view of the landing page; a
// hung part leaves its section saying so.
const statusTimeout = 5 * time.Second

// statusView is what the landing page shows at one moment.
type statusView struct {
	Landing
	Loaded        bool
	ClustersDown  []string
	Failed        []failedPart
	Behind        []tableLag
	Reconciles    []reconcileRow
	Remediations  []remediationRow
	ReadError     string
	ReconcileNote string
	AuditNote     string
	At            string
}

type failedPart struct{ Cluster, Connector, Task, Link string }
type tableLag struct {
	Table, Link string
	Seconds     float64
}
type reconcileRow struct {
	Table, ID, Status, StartedAt, Link string
}
type remediationRow struct {
	FinishedAt, Rule, Action, Target, Outcome string
}

// serveStatus renders the landing page: the state of the pipeline at a
// glance (failed connectors and tasks, the tables most behind, the last
// reconcile per table, the last remediation decisions), each linking to
// the API that says more. It only reads, as a scrape does, within
// statusTimeout.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	v := statusView{Landing: s.opts.Landing, At: time.Now().UTC().Format(time.RFC3339)}
	if rt := s.acquire(); rt != nil {
		defer rt.release()
		v.Loaded = true
		ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
		defer cancel()
		s.readMetrics(ctx, rt, &v)
		s.readReconciles(ctx, rt, &v)
		s.readRemediations(ctx, rt, &v)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, v); err != nil {
		s.logger.Warn("writing the landing page", "err", err)
	}
}

func (s *Server) readMetrics(ctx context.Context, rt *Runtime, v *statusView) {
	var cs []collector.Collector
	for _, c := range rt.Collectors {
		if readForStatus(c.Name()) {
			cs = append(cs, c)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := promreg.Register(reg, collector.NewExporter(ctx, s.logger, cs...)); err != nil {
		v.ReadError = err.Error()
		return
	}
	families, err := reg.Gather()
	if err != nil {
		v.ReadError = err.Error()
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			l := labels(m)
			val := m.GetGauge().GetValue()
			switch f.GetName() {
			case "cdc_connect_up":
				if val == 0 {
					v.ClustersDown = append(v.ClustersDown, l["connect_cluster"])
				}
			case "cdc_connect_connector_state":
				if l["state"] == "FAILED" && val == 1 {
					v.Failed = append(v.Failed, failedPart{Cluster: l["connect_cluster"], Connector: l["connector"],
						Link: "/api/v1/remediations?connector=" + url.QueryEscape(l["connector"])})
				}
			case "cdc_connect_task_state":
				if l["state"] == "FAILED" && val == 1 {
					v.Failed = append(v.Failed, failedPart{Cluster: l["connect_cluster"], Connector: l["connector"], Task: l["task"],
						Link: "/api/v1/remediations?connector=" + url.QueryEscape(l["connector"])})
				}
			case "cdc_table_lag_seconds":
				v.Behind = append(v.Behind, tableLag{Table: l["table"], Seconds: val,
					Link: "/api/v1/reconcile?table=" + url.QueryEscape(l["table"])})
			}
		}
	}
	slices.SortFunc(v.Behind, func(a, b tableLag) int {
		return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(a.Table, b.Table))
	})
	v.Behind = v.Behind[:min(len(v.Behind), 10)]
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, p := range m.GetLabel() {
		out[p.GetName()] = p.GetValue()
	}
	return out
}

// readReconciles keeps the newest job of each table from the reconcile
// API's listing (newest first).
func (s *Server) readReconciles(ctx context.Context, rt *Runtime, v *statusView) {
	var list struct {
		Jobs []struct {
			ID        string    `json:"id"`
			Table     string    `json:"table"`
			Status    string    `json:"status"`
			StartedAt time.Time `json:"started_at"`
		} `json:"jobs"`
	}
	if note := getAPI(ctx, rt, "/api/v1/reconcile?limit=100", &list); note != "" {
		v.ReconcileNote = note
		return
	}
	seen := map[string]bool{}
	for _, j := range list.Jobs {
		if seen[j.Table] {
			continue
		}
		seen[j.Table] = true
		v.Reconciles = append(v.Reconciles, reconcileRow{Table: j.Table, ID: j.ID, Status: j.Status,
			StartedAt: j.StartedAt.UTC().Format(time.RFC3339), Link: "/api/v1/reconcile/" + url.PathEscape(j.ID)})
	}
}

func (s *Server) readRemediations(ctx context.Context, rt *Runtime, v *statusView) {
	var recs []struct {
		FinishedAt time.Time         `json:"finished_at"`
		Rule       string            `json:"rule"`
		Action     string            `json:"action"`
		Outcome    string            `json:"outcome"`
		Target     string            `json:"target"`
		Arguments  map[string]string `json:"arguments"`
	}
	if note := getAPI(ctx, rt, "/api/v1/remediations?limit=10", &recs); note != "" {
		v.AuditNote = note
		return
	}
	for _, r := range recs {
		target := r.Target
		if target == "" {
			target = cmp.Or(r.Arguments["connector"], r.Arguments["table"])
		}
		v.Remediations = append(v.Remediations, remediationRow{FinishedAt: r.FinishedAt.UTC().Format(time.RFC3339),
			Rule: r.Rule, Action: r.Action, Target: target, Outcome: r.Outcome})
	}
}

// getAPI reads one of the runtime's own GET endpoints into out, as a
// client would; it returns why the section cannot be shown, or "".
func getAPI(ctx context.Context, rt *Runtime, path string, out any) string {
	if rt.API == nil {
		return "not configured"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err.Error()
	}
	rec := &answer{code: http.StatusOK, header: http.Header{}}
	rt.API.ServeHTTP(rec, req)
	switch {
	case rec.code == http.StatusNotFound || rec.code == http.StatusMethodNotAllowed:
		return "not configured"
	case rec.code != http.StatusOK:
		return http.StatusText(rec.code)
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return "unreadable answer: " + err.Error()
	}
	return ""
}

// answer holds what one of the runtime's handlers wrote for the landing
// page.
type answer struct {
	code   int
	header http.Header
	body   bytes.Buffer
}

func (a *answer) Header() http.Header         { return a.header }
func (a *answer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *answer) WriteHeader(code int)        { a.code = code }

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"seconds": func(f float64) string {
		return (time.Duration(f * float64(time.Second))).Round(time.Millisecond).String()
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}}</title>
<style>
body{font-family:sans-serif;margin:0}
header{background:#e6522c;color:#fff;padding:.6em 1em}
header h1{margin:0;font-size:1.4em}
main{padding:0 1em 1em}
section{margin-top:1.2em}
h2{font-size:1.1em;border-bottom:1px solid #ccc}
table{border-collapse:collapse}
td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #eee}
.bad{color:#b00020;font-weight:bold}.ok{color:#2e7d32}
.note{color:#666}
</style></head>
<body>
<header><h1>{{.Name}}</h1><div>{{.Description}}</div></header>
<main>
<p class="note">Version {{.Version}}; read at {{.At}}.</p>
<nav><ul>{{range .Links}}<li><a href="{{.Address}}">{{.Text}}</a></li>{{end}}</ul></nav>
{{if not .Loaded}}<p class="bad">No configuration loaded.</p>{{else}}
{{if .ReadError}}<p class="bad">Some parts could not be read: {{.ReadError}}</p>{{end}}
<section id="failed"><h2>Failed connectors and tasks</h2>
{{range .ClustersDown}}<p class="bad">Connect cluster {{.}} does not answer.</p>{{end}}
{{if .Failed}}<table><tr><th>cluster</th><th>connector</th><th>task</th><th></th></tr>
{{range .Failed}}<tr class="bad"><td>{{.Cluster}}</td><td>{{.Connector}}</td><td>{{if .Task}}{{.Task}}{{else}}(connector){{end}}</td><td><a href="{{.Link}}">remediations</a></td></tr>{{end}}
</table>{{else}}<p class="ok">None failed.</p>{{end}}</section>
<section id="behind"><h2>Tables most behind</h2>
{{if .Behind}}<table><tr><th>table</th><th>lag</th><th></th></tr>
{{range .Behind}}<tr><td>{{.Table}}</td><td{{if gt .Seconds 0.0}} class="bad"{{end}}>{{seconds .Seconds}}</td><td><a href="{{.Link}}">reconciles</a></td></tr>{{end}}
</table>{{else}}<p class="note">No table's lag is measured.</p>{{end}}</section>
<section id="reconciles"><h2>Last reconcile per table</h2>
{{if .ReconcileNote}}<p class="note">{{.ReconcileNote}}</p>{{else if .Reconciles}}<table><tr><th>table</th><th>status</th><th>started</th><th></th></tr>
{{range .Reconciles}}<tr><td>{{.Table}}</td><td>{{.Status}}</td><td>{{.StartedAt}}</td><td><a href="{{.Link}}">job</a></td></tr>{{end}}
</table>{{else}}<p class="note">No reconcile has run since start.</p>{{end}}
<p><a href="/api/v1/reconcile">all reconciles</a></p></section>
<section id="remediations"><h2>Last remediation decisions</h2>
{{if .AuditNote}}<p class="note">{{.AuditNote}}</p>{{else if .Remediations}}<table><tr><th>finished</th><th>rule</th><th>action</th><th>target</th><th>outcome</th></tr>
{{range .Remediations}}<tr><td>{{.FinishedAt}}</td><td>{{.Rule}}</td><td>{{.Action}}</td><td>{{.Target}}</td><td>{{.Outcome}}</td></tr>{{end}}
</table>{{else}}<p class="note">No decision recorded.</p>{{end}}
<p><a href="/api/v1/remediations">the audit log</a></p></section>
{{end}}
</main></body></html>
`))
