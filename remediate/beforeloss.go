package remediate

import (
	"context"
	"fmt"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// A pause the remediator takes (a sink paused on a dead-letter spike)
// must never become data loss: while the sink is paused its topics'
// retention keeps deleting records it has not consumed. Each
// pause_connector rule therefore comes with a rule the engine adds,
// named after it with beforeDataLossSuffix, matching CDCDataLossImminent
// for the sink stage: on a connector the pause rule holds paused, it
// resumes it (before_data_loss: resume) or keeps it paused and records
// the outcome escalated, which CDCRemediationFailing pages on
// (before_data_loss: escalate).

// beforeDataLossSuffix names the rule added for a pause rule.
const beforeDataLossSuffix = "/before-data-loss"

// dataLossImminent is the alert that says a sink's headroom runs out.
const dataLossImminent = "CDCDataLossImminent"

// beforeDataLoss is the rule added for the pause rule p.
func beforeDataLoss(p *compiledRule) *compiledRule {
	cfg := config.Rule{
		Name:           p.cfg.Name + beforeDataLossSuffix,
		Match:          []string{`alertname="` + dataLossImminent + `"`, `stage="sink"`},
		Action:         actionkind.Resume.RuleName(),
		Args:           p.cfg.Args,
		Cooldown:       p.cfg.Cooldown,
		MaxAttempts:    p.cfg.MaxAttempts,
		Backoff:        p.cfg.Backoff,
		BeforeDataLoss: p.cfg.BeforeDataLoss,
	}
	for _, m := range [][2]string{{"alertname", dataLossImminent}, {"stage", "sink"}} {
		lm, _ := labels.NewMatcher(labels.MatchEqual, m[0], m[1])
		cfg.Matchers = append(cfg.Matchers, lm)
	}
	return &compiledRule{cfg: cfg, tmpls: p.tmpls, dryRun: p.dryRun, policy: p.policy, holds: p.cfg.Name}
}

// holdsPause decides a before-data-loss job on connector t: nothing to
// do unless rule's pause rule holds it paused (its newest action on the
// connector that took effect is a firing pause); escalated when the
// rule says so. It reports whether it decided the job (filling in rec),
// and then whether a later delivery may try again.
func (e *Engine) holdsPause(ctx context.Context, rule *compiledRule, t *target, rec *store.Record) (decided, retry bool) {
	recs, err := e.store.Audit(ctx, store.AuditQuery{Rule: rule.holds, Connectors: []string{t.connector.Connector}, ConnectClusters: []string{t.cluster}, Limit: 50})
	if err != nil {
		rec.Decision, rec.Outcome, rec.Error = DecisionSkip, OutcomeFailure, fmt.Sprintf("reading what rule %s did to connector %s: %v", rule.holds, t.connector.Connector, err)
		return true, true
	}
	held := false
	for _, r := range recs { // newest first
		if r.Outcome == OutcomeSuccess || r.Outcome == OutcomeInterrupted || (rule.dryRun && r.Outcome == OutcomeDryRun) {
			held = r.Phase == store.PhaseFiring && r.Action == actionkind.Pause.RuleName()
			break
		}
	}
	if !held {
		rec.Decision, rec.Outcome = DecisionSkip, OutcomeNotNeeded
		rec.Detail = fmt.Sprintf("rule %s does not hold connector %s paused", rule.holds, t.connector.Connector)
		return true, false
	}
	if rule.cfg.BeforeDataLoss != config.BeforeDataLossEscalate {
		return false, false
	}
	rec.Decision, rec.Outcome = DecisionSkip, OutcomeEscalated
	rec.Detail = fmt.Sprintf("rule %s keeps connector %s paused (before_data_loss: escalate) while retention is about to delete records it has not consumed: resume it or raise the topic's retention", rule.holds, t.connector.Connector)
	e.logger.Error("a connector the remediator paused is about to lose records to retention; kept paused as its rule says, a human must act",
		"rule", rule.holds, "connect_cluster", t.cluster, "connector", t.connector.Connector)
	return true, false
}
