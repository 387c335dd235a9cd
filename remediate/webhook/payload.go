// Package webhook is the remediator's HTTP surface: it decodes and checks
// Alertmanager's webhook notifications (POST /alerts), hands their alerts
// to a Receiver that records them durably, and serves the audit trail
// (GET /api/v1/remediations).
package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Message is Alertmanager's webhook body, version 4. It has the shape of
// notify/webhook.Message, which is not imported because that package
// pulls in Alertmanager's whole notification pipeline. template.Data
// carries notification_reason and routeLabels, which newer Alertmanagers
// send and older ones leave out; both decode.
type Message struct {
	*template.Data

	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// PayloadError is a body that is not a webhook payload; it becomes a 400.
type PayloadError struct{ Reason string }

func (e *PayloadError) Error() string { return "invalid webhook payload: " + e.Reason }

func payloadErr(format string, args ...any) error {
	return &PayloadError{Reason: fmt.Sprintf(format, args...)}
}

// DecodeMessage reads and checks one webhook body. Each alert is checked on
// its own: a group's status says nothing about its members. An alert
// without a fingerprint (Alertmanager before 0.19) gets the one
// Alertmanager would have computed from its labels.
func DecodeMessage(r io.Reader) (*Message, error) {
	dec := json.NewDecoder(r)
	var m Message
	if err := dec.Decode(&m); err != nil {
		if isMaxBytes(err) {
			return nil, err
		}
		if errors.Is(err, io.EOF) {
			return nil, payloadErr("empty body")
		}
		return nil, payloadErr("not JSON: %v", err)
	}
	if dec.More() {
		return nil, payloadErr("trailing data after the JSON object")
	}
	// More says false on a read error too: whitespace past the limit
	// must still be 413, not an accepted body.
	if _, err := dec.Token(); isMaxBytes(err) {
		return nil, err
	} else if !errors.Is(err, io.EOF) {
		return nil, payloadErr("trailing data after the JSON object")
	}
	if m.Data == nil || m.Version == "" {
		return nil, payloadErr("no version field: not an Alertmanager webhook notification")
	}
	if m.Version != "4" {
		return nil, payloadErr("version %q is not supported; Alertmanager sends version 4", m.Version)
	}
	if len(m.Alerts) == 0 {
		return nil, payloadErr("no alerts")
	}
	for i := range m.Alerts {
		if err := checkAlert(&m.Alerts[i]); err != nil {
			return nil, payloadErr("alerts[%d]: %s", i, err.Reason)
		}
	}
	return &m, nil
}

// checkAlert checks one alert and gives it the fingerprint Alertmanager
// would have computed when it has none.
func checkAlert(a *template.Alert) *PayloadError {
	switch {
	case a.Status != store.PhaseFiring && a.Status != store.PhaseResolved:
		return &PayloadError{fmt.Sprintf("status %q is neither firing nor resolved", a.Status)}
	case len(a.Labels) == 0:
		return &PayloadError{"no labels"}
	case a.StartsAt.IsZero():
		return &PayloadError{"no startsAt"}
	case a.Status == store.PhaseResolved && a.EndsAt.IsZero():
		return &PayloadError{"resolved without endsAt"}
	}
	if a.Fingerprint == "" {
		ls := make(model.LabelSet, len(a.Labels))
		for k, v := range a.Labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		a.Fingerprint = ls.Fingerprint().String()
	}
	return nil
}

func isMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
