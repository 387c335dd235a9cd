// Package actionkind names the connector actions, the one list the
// connectors command, the remediation rules and the configuration's
// validation all read. It is a leaf of connectaction because the
// configuration, which every package below connectaction imports, must
// check a rule's action without importing what performs it.
package actionkind

// Kind is what an action does, spelled as the connectors command names it.
type Kind string

// The connector actions.
const (
	Pause       Kind = "pause"
	Resume      Kind = "resume"
	Restart     Kind = "restart"
	Stop        Kind = "stop"
	RestartTask Kind = "restart_task"
	Scale       Kind = "scale"
)

// Reconcile is the one rule action that is not a connector action: it
// starts a table's reconcile.
const Reconcile = "reconcile"

// Commands are the connectors subcommands that change a connector's
// state, in the order the help shows them.
func Commands() []Kind { return []Kind{Pause, Resume, Restart, Stop} }

// ruleNames are the remediation rules' spellings of the connector actions
// the remediator takes; a rule names the object too, except for a task.
var ruleNames = [...]struct {
	kind Kind
	rule string
}{
	{RestartTask, "restart_task"},
	{Restart, "restart_connector"},
	{Pause, "pause_connector"},
	{Resume, "resume_connector"},
}

// RuleNames are the actions a remediation rule may name: the connector
// actions the remediator takes, then reconcile.
func RuleNames() []string {
	out := make([]string, 0, len(ruleNames)+1)
	for _, r := range ruleNames {
		out = append(out, r.rule)
	}
	return append(out, Reconcile)
}

// RuleName is k as a rule spells it; "" for an action no rule takes.
func (k Kind) RuleName() string {
	for _, r := range ruleNames {
		if r.kind == k {
			return r.rule
		}
	}
	return ""
}

// FromRule is the connector action a rule's action names; false for
// reconcile and for names that are not actions.
func FromRule(name string) (Kind, bool) {
	for _, r := range ruleNames {
		if r.rule == name {
			return r.kind, true
		}
	}
	return "", false
}
