package config

import (
	"fmt"
	"sort"
	"text/template"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// Remediation holds the rules the webhook receiver acts on.
type Remediation struct {
	DryRun            bool          `yaml:"dry_run,omitempty"`
	MaxActionsPerHour int           `yaml:"max_actions_per_hour,omitempty"`
	MaxAlertAge       time.Duration `yaml:"max_alert_age,omitempty"`
	// VerifyTimeout bounds how long an action's outcome is awaited.
	VerifyTimeout time.Duration `yaml:"verify_timeout,omitempty"`
	// HealthyReset is how long a target must stay healthy before its
	// attempt counter starts again.
	HealthyReset time.Duration `yaml:"healthy_reset,omitempty"`
	// MaxBodyBytes caps a webhook body; larger ones get 413.
	MaxBodyBytes int64            `yaml:"max_body_bytes,omitempty"`
	Store        RemediationStore `yaml:"store,omitempty"`
	Rules        []Rule           `yaml:"rules,omitempty"`
}

// RemediationStore says where episodes, attempts and the audit log live.
type RemediationStore struct {
	// Type is "bolt" (a file under --storage.path, the default) or
	// "postgres" (shared by replicas, which claim episodes atomically).
	Type    string `yaml:"type,omitempty"`
	DSN     Secret `yaml:"dsn,omitempty"`
	DSNFile string `yaml:"dsn_file,omitempty"`
}

// Rule maps matching alerts to an action.
type Rule struct {
	Name        string            `yaml:"name"`
	Match       []string          `yaml:"match"`
	Action      string            `yaml:"action"`
	Args        map[string]string `yaml:"args,omitempty"`
	OnResolved  string            `yaml:"on_resolved,omitempty"`
	Cooldown    time.Duration     `yaml:"cooldown,omitempty"`
	MaxAttempts int               `yaml:"max_attempts,omitempty"`
	Backoff     *Backoff          `yaml:"backoff,omitempty"`
	DryRun      *bool             `yaml:"dry_run,omitempty"`
	// BeforeDataLoss says what becomes of a connector this rule paused
	// (pause_connector only) once CDCDataLossImminent fires for its
	// topics: "resume" it (the default), or "escalate": keep it paused
	// and page a human (outcome escalated).
	BeforeDataLoss string `yaml:"before_data_loss,omitempty"`

	// Matchers is Match parsed.
	Matchers labels.Matchers `yaml:"-"`
}

// The values of Rule.BeforeDataLoss.
const (
	BeforeDataLossResume   = "resume"
	BeforeDataLossEscalate = "escalate"
)

// Backoff spaces out repeated attempts on one target.
type Backoff struct {
	Initial time.Duration `yaml:"initial"`
	Max     time.Duration `yaml:"max"`
}

func (r *Remediation) applyDefaults() {
	if r.MaxActionsPerHour == 0 {
		r.MaxActionsPerHour = 30
	}
	if r.MaxAlertAge == 0 {
		r.MaxAlertAge = 6 * time.Hour
	}
	if r.VerifyTimeout == 0 {
		r.VerifyTimeout = 60 * time.Second
	}
	if r.HealthyReset == 0 {
		r.HealthyReset = 10 * time.Minute
	}
	if r.MaxBodyBytes == 0 {
		r.MaxBodyBytes = 1 << 20
	}
	if r.Store.Type == "" {
		r.Store.Type = "bolt"
	}
	for i := range r.Rules {
		rule := &r.Rules[i]
		if rule.Cooldown == 0 {
			rule.Cooldown = 10 * time.Minute
		}
		if rule.MaxAttempts == 0 {
			rule.MaxAttempts = 5
		}
		if rule.BeforeDataLoss == "" && rule.Action == actionkind.Pause.RuleName() {
			rule.BeforeDataLoss = BeforeDataLossResume
		}
	}
}

// RuleArgs are the argument names a rule's args may set. Each value is a
// Go template over the alert ({{ .Labels.connector }}); unset ones come
// from the alert's labels of the same name (connect_cluster, connector,
// task, table) or from the action's defaults.
var RuleArgs = []string{"connect_cluster", "connector", "task", "table", "topic", "includeTasks", "onlyFailed", "repair"}

func isRuleArg(a string) bool {
	for _, x := range RuleArgs {
		if x == a {
			return true
		}
	}
	return false
}

func isAction(a string) bool {
	for _, x := range actionkind.RuleNames() {
		if x == a {
			return true
		}
	}
	return false
}

func (r *Remediation) validate(v *validator, p string, c *Config) {
	if r.MaxActionsPerHour < 0 {
		v.fail(p+".max_actions_per_hour", "must not be negative")
	}
	if r.MaxAlertAge < 0 {
		v.fail(p+".max_alert_age", "must not be negative")
	}
	if r.MaxBodyBytes < 0 {
		v.fail(p+".max_body_bytes", "must not be negative")
	}
	r.Store.validate(v, p+".store")
	names := map[string]bool{}
	for i := range r.Rules {
		rule := &r.Rules[i]
		rp := fmt.Sprintf("%s.rules[%d]", p, i)
		if rule.Name == "" {
			v.fail(rp+".name", "required")
		} else if names[rule.Name] {
			v.fail(rp+".name", "duplicate rule name %q", rule.Name)
		}
		names[rule.Name] = true
		rule.validate(v, rp)
	}
}

func (s *RemediationStore) validate(v *validator, p string) {
	switch s.Type {
	case "bolt":
		// A DSN beside the default type means the user meant postgres;
		// ignoring it would keep each replica on its own file.
		if s.DSN != "" {
			v.fail(p+".dsn", "only for type postgres; the store type is bolt (a file under --storage.path)")
		}
		if s.DSNFile != "" {
			v.fail(p+".dsn_file", "only for type postgres; the store type is bolt (a file under --storage.path)")
		}
	case "postgres":
		if (s.DSN == "") == (s.DSNFile == "") {
			v.fail(p, "exactly one of dsn and dsn_file is required for the postgres store")
		}
		if s.DSN != "" {
			if err := dsn.CheckPostgresPool(s.DSN.Reveal()); err != nil {
				v.fail(p+".dsn", "not a valid PostgreSQL DSN (the value is not shown: it holds credentials)")
			}
		}
	default:
		v.fail(p+".type", "%q is not one of bolt, postgres", s.Type)
	}
}

// validate checks one rule but its name, whose uniqueness is the
// remediation section's to check; it fills in the parsed matchers.
func (rule *Rule) validate(v *validator, rp string) {
	if len(rule.Match) == 0 {
		v.fail(rp+".match", "at least one matcher is required")
	}
	for j, m := range rule.Match {
		ms, err := labels.ParseMatchers(m)
		if err != nil {
			v.fail(fmt.Sprintf("%s.match[%d]", rp, j), "invalid matcher %q: %v", m, err)
			continue
		}
		rule.Matchers = append(rule.Matchers, ms...)
	}
	if !isAction(rule.Action) {
		v.fail(rp+".action", "%q is not one of %v", rule.Action, actionkind.RuleNames())
	}
	if rule.OnResolved != "" && !isAction(rule.OnResolved) {
		v.fail(rp+".on_resolved", "%q is not one of %v", rule.OnResolved, actionkind.RuleNames())
	}
	rule.validateArgs(v, rp)
	switch {
	case rule.BeforeDataLoss == "":
	case rule.Action != actionkind.Pause.RuleName():
		v.fail(rp+".before_data_loss", "only a pause_connector rule holds a connector paused; this rule's action is %q", rule.Action)
	case rule.BeforeDataLoss != BeforeDataLossResume && rule.BeforeDataLoss != BeforeDataLossEscalate:
		v.fail(rp+".before_data_loss", "%q is not one of %s, %s", rule.BeforeDataLoss, BeforeDataLossResume, BeforeDataLossEscalate)
	}
	if rule.Cooldown < 0 {
		v.fail(rp+".cooldown", "must not be negative")
	}
	if rule.MaxAttempts < 0 {
		v.fail(rp+".max_attempts", "must not be negative")
	}
	if b := rule.Backoff; b != nil && b.Initial <= 0 {
		v.fail(rp+".backoff.initial", "must be positive")
	} else if b != nil && b.Max != 0 && b.Max < b.Initial {
		v.fail(rp+".backoff.max", "must not be less than initial (%s)", b.Initial)
	}
}

// validateArgs checks that each argument is known and a valid template,
// in the order of their names so the errors come out the same each time.
func (rule *Rule) validateArgs(v *validator, rp string) {
	keys := make([]string, 0, len(rule.Args))
	for k := range rule.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !isRuleArg(k) {
			v.fail(rp+".args."+k, "unknown argument %q; known: %v", k, RuleArgs)
			continue
		}
		if _, err := template.New(k).Option("missingkey=zero").Parse(rule.Args[k]); err != nil {
			v.fail(rp+".args."+k, "invalid template: %v", err)
		}
	}
}
