package remediate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Handler serves POST /alerts (the webhook) and GET /api/v1/remediations
// (the audit trail).
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/alerts", e.serveAlerts)
	mux.HandleFunc("/api/v1/remediations", e.serveAudit)
	return mux
}

func (e *Engine) serveAlerts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an Alertmanager webhook notification here.", http.StatusMethodNotAllowed)
		return
	}
	limit := e.cfg.MaxBodyBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	msg, err := DecodeMessage(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if isMaxBytes(err) {
			http.Error(w, fmt.Sprintf("body larger than max_body_bytes (%d)", limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, err := e.Receive(r.Context(), msg)
	if err != nil {
		// 5xx makes Alertmanager send the notification again.
		e.logger.Error("alerts not recorded; Alertmanager will retry", "group_key", msg.GroupKey, "err", err)
		http.Error(w, "alerts not recorded: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"alerts": len(msg.Alerts), "queued": n})
}

// serveAudit lists audit records, newest first. Query parameters: limit
// (default 100, at most 1000), rule, and since (RFC 3339 time or a
// duration back from now, like 1h).
func (e *Engine) serveAudit(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET only.", http.StatusMethodNotAllowed)
		return
	}
	q := AuditQuery{Limit: 100, Rule: r.URL.Query().Get("rule")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			http.Error(w, fmt.Sprintf("limit %q is not a positive integer", v), http.StatusBadRequest)
			return
		}
		q.Limit = min(n, 1000)
	}
	if v := r.URL.Query().Get("since"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			q.Since = t
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			q.Since = e.now().Add(-d)
		} else {
			http.Error(w, fmt.Sprintf("since %q is neither an RFC 3339 time nor a duration", v), http.StatusBadRequest)
			return
		}
	}
	recs, err := e.store.Audit(r.Context(), q)
	if err != nil {
		http.Error(w, "reading the audit trail: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if recs == nil {
		recs = []Record{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(recs)
}
