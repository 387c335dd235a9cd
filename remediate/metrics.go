package remediate

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdc-sentinel/cdc-sentinel/internal/promreg"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Metrics are process-lifetime: created once and kept across reloads, so
// that counters do not restart when the rules change.
type Metrics struct {
	alertsReceived *prometheus.CounterVec
	actions        *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	// circuitState is the circuit breaker as last seen by a decision, so
	// that its transitions are logged once whichever engine sees them.
	// The cdc_remediation_circuit_open gauge is read from the store at
	// scrape time instead (collector.RemediationCollector).
	circuitState atomic.Bool
	// live are the connectors Connect answered for (see targetLabels).
	live liveNames
}

// countAction counts one decision on its target, so that a dashboard or
// an alert can say which connector or table remediation is (not) fixing.
// The target labels are the ones Engine.targetLabels let through: names
// the configuration or Connect knows, the rest folded into "other".
func (m *Metrics) countAction(rule, action, outcome string, target targetLabels) {
	m.actions.WithLabelValues(rule, action, outcome, target.cluster, target.connector, target.table).Inc()
}

// targetLabels are a decision's target as cdc_remediation_actions_total
// labels it.
type targetLabels struct{ cluster, connector, table string }

// otherLabel stands, in a target label, for every name neither the
// configuration nor the live Connect cluster knows: alerts come from
// anyone who can reach the webhook, and each unknown name kept as a label
// would be a series of its own for the life of the process.
const otherLabel = "other"

// maxLiveNames bounds the connector names kept as label values because
// Connect answered for them: a cluster with more connectors than this
// has the rest counted under "other".
const maxLiveNames = 1000

// liveNames are the connectors Connect has answered a status read for,
// since the process started: the live listing as the remediator sees it.
// Process-lifetime like the metrics, so a reload neither forgets them nor
// lets the set grow past maxLiveNames.
type liveNames struct {
	mu    sync.Mutex
	names map[string]struct{}
}

func liveKey(cluster, connector string) string { return cluster + "\x00" + connector }

func (l *liveNames) add(cluster, connector string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.names == nil {
		l.names = map[string]struct{}{}
	}
	if len(l.names) < maxLiveNames {
		l.names[liveKey(cluster, connector)] = struct{}{}
	}
}

func (l *liveNames) has(cluster, connector string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.names[liveKey(cluster, connector)]
	return ok
}

// NewMetrics registers the remediator's metrics on reg. Registering twice on
// one registry returns the metrics already there.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		alertsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_remediation_alerts_received_total",
			Help: "Alerts received on the webhook, each counted by its own status (firing or resolved), duplicates included.",
		}, []string{"status"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cdc_remediation_actions_total",
			Help: "Decisions taken on alert episodes, by rule, action, outcome and the target acted on (connect_cluster and connector, or table; empty when the decision named none; other for a name neither the configuration nor Connect knows).",
		}, []string{"rule", "action", "outcome", "connect_cluster", "connector", "table"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cdc_remediation_action_duration_seconds",
			Help:    "Time from starting an action to its verified outcome.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"action"}),
	}
	var err error
	if m.alertsReceived, err = promreg.Register(reg, m.alertsReceived); err != nil {
		return nil, err
	}
	if m.actions, err = promreg.Register(reg, m.actions); err != nil {
		return nil, err
	}
	if m.duration, err = promreg.Register(reg, m.duration); err != nil {
		return nil, err
	}
	for _, s := range []string{store.PhaseFiring, store.PhaseResolved} {
		m.alertsReceived.WithLabelValues(s)
	}
	return m, nil
}

// observeDuration records how long an action took; with a trace id the
// sample carries it as an exemplar, linking the histogram to the trace.
func (m *Metrics) observeDuration(action string, seconds float64, traceID string) {
	o := m.duration.WithLabelValues(action)
	if eo, ok := o.(prometheus.ExemplarObserver); ok && traceID != "" {
		eo.ObserveWithExemplar(seconds, prometheus.Labels{"trace_id": traceID})
		return
	}
	o.Observe(seconds)
}
