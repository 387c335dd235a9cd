package remediate

import (
	"context"
	"time"

	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Receive records every alert of a notification that a rule matches, one
// job per (episode, rule, phase). When it returns nil the alerts are
// durable; the actions run later, from the queue. Its wait on the store
// is bounded by the engine's gate.
func (e *Engine) Receive(ctx context.Context, alerts amtemplate.Alerts) (int, error) {
	now := e.now()
	var jobs []*store.Job
	for i := range alerts {
		a := &alerts[i]
		e.metrics.alertsReceived.WithLabelValues(a.Status).Inc()
		actx, span := tracing.Start(ctx, "alert", attribute.String("alert.name", a.Labels["alertname"]),
			attribute.String("alert.fingerprint", a.Fingerprint), attribute.String("alert.status", a.Status),
			attribute.String("alert.starts_at", a.StartsAt.UTC().Format(time.RFC3339)))
		parent := tracing.TraceParent(actx)
		e.warnUntrustedTimes(a, now)
		lset := make(model.LabelSet, len(a.Labels))
		for k, v := range a.Labels {
			lset[model.LabelName(k)] = model.LabelValue(v)
		}
		for _, r := range e.rules {
			if !r.cfg.Matchers.Matches(lset) {
				continue
			}
			span.AddEvent("rule matched", trace.WithAttributes(attribute.String("rule", r.cfg.Name)))
			// The resolved job is queued even without on_resolved: it
			// tells the safety state the target is healthy again.
			jobs = append(jobs, &store.Job{
				Key:         store.JobKey(a.Fingerprint, a.StartsAt, r.cfg.Name, a.Status),
				Fingerprint: a.Fingerprint, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
				Labels: a.Labels, Annotations: a.Annotations,
				Rule: r.cfg.Name, Phase: a.Status, ReceivedAt: now, TraceParent: parent,
			})
		}
		span.End()
	}
	// The wait on the store is bounded (the process's gate): a store
	// that does not answer gives an error wrapping store.ErrUnavailable,
	// which the webhook answers 503 so Alertmanager sends again.
	var n int
	err := e.gate.Do(ctx, func(ctx context.Context) error {
		var err error
		n, err = e.store.Enqueue(ctx, jobs)
		return err
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		e.signal()
	}
	return n, nil
}

// warnUntrustedTimes logs an alert whose startsAt or endsAt is not
// believed as sent (see believedTime). The job keeps the times as sent,
// which name its episode; decisions read them through believedTime.
func (e *Engine) warnUntrustedTimes(a *amtemplate.Alert, received time.Time) {
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"startsAt", a.StartsAt}, {"endsAt", a.EndsAt}} {
		if f.name == "endsAt" && a.Status != store.PhaseResolved {
			continue // a firing alert's endsAt decides nothing
		}
		if b, clamped := believedTime(f.t, received); clamped {
			e.logger.Warn("alert time not believed; decisions use the clamped time", "alert", a.Labels["alertname"],
				"fingerprint", a.Fingerprint, "field", f.name, "sent", f.t, "used", b, "received_at", received)
		}
	}
}

// Audit lists audit records, newest first, within the engine's gate as
// Receive does.
func (e *Engine) Audit(ctx context.Context, q store.AuditQuery) ([]store.Record, error) {
	var recs []store.Record
	err := e.gate.Do(ctx, func(ctx context.Context) error {
		var err error
		recs, err = e.store.Audit(ctx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}
