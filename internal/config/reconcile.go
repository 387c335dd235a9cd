package config

import "time"

// Reconcile bounds the full reconciles cdc-sentinel runs: the reconcile
// command, POST /api/v1/reconcile and the remediator's reconcile action.
type Reconcile struct {
	// Timeout is a run's own deadline, comparison and repair together
	// (following a repair's snapshots is bounded by
	// tables[].signal.repair_timeout instead): a source that hangs ends
	// the run as failed instead of holding the table's slot for ever.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// HTTPDeleteExtra lets POST /api/v1/reconcile ask for delete_extra.
	// Off by default: deleting target rows is then only done from the
	// reconcile command, by someone holding the configuration.
	HTTPDeleteExtra bool `yaml:"http_delete_extra,omitempty"`
}

// DefaultReconcileTimeout is reconcile.timeout's default: a full compare
// of a table of tens of millions of rows takes minutes, so an hour means
// something is stuck.
const DefaultReconcileTimeout = time.Hour

func (r *Reconcile) applyDefaults() {
	if r.Timeout == 0 {
		r.Timeout = DefaultReconcileTimeout
	}
}

func (r *Reconcile) validate(v *validator, p string) {
	if r.Timeout < 0 {
		v.fail(p+".timeout", "must be positive")
	}
}
