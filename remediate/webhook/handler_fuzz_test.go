package webhook

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

type acceptAll struct{ got template.Alerts }

func (a *acceptAll) Receive(_ context.Context, alerts template.Alerts) (int, error) {
	a.got = alerts
	return len(alerts), nil
}

func (a *acceptAll) Audit(_ context.Context, q store.AuditQuery) ([]store.Record, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		return nil, nil // checked by the fuzz target through the answer
	}
	return []store.Record{}, nil
}

// Whatever is POSTed to /alerts, or asked of /api/v1/remediations, the
// answer is 2xx or 4xx, never 5xx or a panic, while the store works: a
// 5xx makes Alertmanager resend forever. What is accepted reaches the
// engine as alerts that each name their episode (fingerprint, startsAt).
func FuzzWebhook(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		recv := &acceptAll{}
		h := Handler(recv, recv, Options{MaxBodyBytes: 64 << 10, Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }})

		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, AlertsPath, bytes.NewReader(body)))
		if w.Code >= 500 {
			t.Fatalf("POST %s answered %d: %s", AlertsPath, w.Code, w.Body)
		}
		if w.Code < 300 {
			if len(recv.got) == 0 {
				t.Fatalf("accepted a notification without alerts: %q", body)
			}
			for _, a := range recv.got {
				if a.Fingerprint == "" || a.StartsAt.IsZero() {
					t.Fatalf("accepted an alert that names no episode: %+v", a)
				}
			}
		}

		w = httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, AuditPath+"?"+url.PathEscape(query), nil))
		if w.Code >= 500 {
			t.Fatalf("GET %s?%s answered %d: %s", AuditPath, query, w.Code, w.Body)
		}
	})
}
