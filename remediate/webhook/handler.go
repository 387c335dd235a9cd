package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"

	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// The remediator's endpoints. They are registered here and nowhere else:
// the server routes to whatever the runtime's API mux knows.
const (
	AlertsPath = "/alerts"
	AuditPath  = "/api/v1/remediations"
)

// Receiver records a notification's alerts durably and returns how many
// jobs it queued; the remediation engine implements it. It bounds its
// own wait on the store: a store that does not answer in time gives an
// error wrapping store.ErrUnavailable, answered 503 with Retry-After.
type Receiver interface {
	Receive(ctx context.Context, alerts template.Alerts) (int, error)
}

// AuditReader lists audit records, newest first, bounding its wait on
// the store as a Receiver does.
type AuditReader interface {
	Audit(ctx context.Context, q store.AuditQuery) ([]store.Record, error)
}

// Options configure the handlers.
type Options struct {
	// MaxBodyBytes caps a webhook body; larger ones get 413 (default 1 MiB).
	MaxBodyBytes int64
	Logger       *slog.Logger
	// Now is the clock for relative since= queries; tests set it.
	Now func() time.Time
	// Tracing starts a trace per notification; nil traces nothing.
	Tracing *tracing.Provider
	// Outcomes are the outcomes an audit record can have: an outcome=
	// filter naming another is refused. Empty accepts any.
	Outcomes []string
}

// Register serves POST /alerts (the webhook) and GET /api/v1/remediations
// (the audit trail) on mux.
func Register(mux *http.ServeMux, recv Receiver, audit AuditReader, o Options) {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	mux.Handle(AlertsPath, &alertsHandler{recv: recv, opts: o})
	mux.Handle(AuditPath, &auditHandler{audit: audit, opts: o})
}

// Handler returns a mux serving only the remediator's endpoints.
func Handler(recv Receiver, audit AuditReader, o Options) http.Handler {
	mux := http.NewServeMux()
	Register(mux, recv, audit, o)
	return mux
}

type alertsHandler struct {
	recv Receiver
	opts Options
}

func (h *alertsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an Alertmanager webhook notification here.", http.StatusMethodNotAllowed)
		return
	}
	// A caller that sends a traceparent (a proxy, a test) is continued.
	ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := h.opts.Tracing.Root(ctx, "webhook notification", attribute.String("http.route", AlertsPath))
	defer span.End()
	limit := h.opts.MaxBodyBytes
	msg, err := DecodeMessage(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		tracing.End(span, err)
		if isMaxBytes(err) {
			http.Error(w, fmt.Sprintf("body larger than max_body_bytes (%d)", limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	span.SetAttributes(attribute.String("alertmanager.receiver", msg.Receiver), attribute.String("alertmanager.status", msg.Status),
		attribute.String("alertmanager.group_key", msg.GroupKey), attribute.Int("alerts", len(msg.Alerts)))
	n, err := h.recv.Receive(ctx, msg.Alerts)
	if err != nil {
		tracing.End(span, err)
		// 5xx makes Alertmanager send the notification again.
		h.opts.Logger.Error("alerts not recorded; Alertmanager will retry", "group_key", msg.GroupKey, "err", err)
		storeError(w, "alerts not recorded: ", err)
		return
	}
	span.SetAttributes(attribute.Int("queued", n))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"alerts": len(msg.Alerts), "queued": n})
}

type auditHandler struct {
	audit AuditReader
	opts  Options
}

// auditParams are the audit API's query parameters; any other is refused,
// so a misspelt filter never silently lists everything.
var auditParams = []string{"connect_cluster", "connector", "limit", "outcome", "rule", "since", "table"}

// anyName is what Grafana sends for a multi-value variable set to All
// (the shipped dashboards' allValue): no filter.
const anyName = ".*"

// ServeHTTP lists audit records, newest first. Query parameters: limit
// (default 100, at most 1000), rule, since (RFC 3339 time or a duration
// back from now, like 1h), and connector, connect_cluster, table and
// outcome, each repeatable or a comma-separated list.
func (h *auditHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET only.", http.StatusMethodNotAllowed)
		return
	}
	params := r.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !slices.Contains(auditParams, k) {
			http.Error(w, fmt.Sprintf("unknown query parameter %q; known: %s", k, strings.Join(auditParams, ", ")), http.StatusBadRequest)
			return
		}
	}
	q := store.AuditQuery{Limit: 100, Rule: params.Get("rule")}
	var err error
	if q.Connectors, err = nameList(params, "connector"); err == nil {
		q.ConnectClusters, err = nameList(params, "connect_cluster")
	}
	if err == nil {
		q.Tables, err = nameList(params, "table")
	}
	if err == nil {
		q.Outcomes, err = nameList(params, "outcome")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, o := range q.Outcomes {
		if len(h.opts.Outcomes) > 0 && !slices.Contains(h.opts.Outcomes, o) {
			http.Error(w, fmt.Sprintf("outcome %q is not one of %s", o, strings.Join(h.opts.Outcomes, ", ")), http.StatusBadRequest)
			return
		}
	}
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			http.Error(w, fmt.Sprintf("limit %q is not a positive integer", v), http.StatusBadRequest)
			return
		}
		q.Limit = min(n, 1000)
	}
	if v := params.Get("since"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			q.Since = t
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			q.Since = h.opts.Now().Add(-d)
		} else {
			http.Error(w, fmt.Sprintf("since %q is neither an RFC 3339 time nor a duration", v), http.StatusBadRequest)
			return
		}
	}
	recs, err := h.audit.Audit(r.Context(), q)
	if err != nil {
		storeError(w, "reading the audit trail: ", err)
		return
	}
	if recs == nil {
		recs = []store.Record{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(recs)
}

// storeError answers a store that failed (500) or did not answer (503,
// with Retry-After): both are 5xx, which Alertmanager retries.
func storeError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, store.ErrUnavailable) {
		w.Header().Set("Retry-After", "10")
		http.Error(w, what+err.Error(), http.StatusServiceUnavailable)
		return
	}
	http.Error(w, what+err.Error(), http.StatusInternalServerError)
}

// nameList is the names a list parameter gives: every value of key,
// each split on commas (Grafana's csv format). An empty name is an
// error; Grafana's All (anyName) means no filter.
func nameList(params url.Values, key string) ([]string, error) {
	var out []string
	for _, v := range params[key] {
		for n := range strings.SplitSeq(v, ",") {
			n = strings.TrimSpace(n)
			switch n {
			case "":
				return nil, fmt.Errorf("%s %q: an empty name (give one or more names, comma-separated)", key, v)
			case anyName:
				return nil, nil
			}
			out = append(out, n)
		}
	}
	return out, nil
}
