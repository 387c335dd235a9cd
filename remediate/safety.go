package remediate

import (
	"fmt"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Policy is the safety settings for one rule.
type Policy struct {
	Cooldown     time.Duration
	MaxAttempts  int
	Backoff      *config.Backoff
	HealthyReset time.Duration
	MaxPerHour   int
}

// delay is the wait after n attempts before the next one: Strimzi's
// min(n²+n, 60) minutes (0, 2, 6, 12, 20, 30, 42, 56, 60…), or the rule's
// own exponential backoff.
func (p Policy) delay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	if b := p.Backoff; b != nil {
		d := b.Initial
		for i := 1; i < n; i++ {
			d *= 2
			if b.Max > 0 && d >= b.Max {
				return b.Max
			}
		}
		if b.Max > 0 && d > b.Max {
			d = b.Max
		}
		return d
	}
	m := n*n + n
	if m > 60 {
		m = 60
	}
	return time.Duration(m) * time.Minute
}

// Reserve decides whether an action on a target may run at now for an
// episode that started at episodeStart, and if so counts it in t and b.
// It returns "" to go ahead, or the suppressing outcome and why.
func (p Policy) Reserve(now, episodeStart time.Time, b *store.Breaker, t *store.TargetState) (string, string) {
	// The target stayed healthy from the last time it was seen so until
	// this episode began: start counting afresh, as Strimzi does once a
	// connector has run longer than its current backoff.
	if t.Attempts > 0 && !t.HealthySince.IsZero() && !t.HealthySince.Before(t.LastAttempt) &&
		episodeStart.Sub(t.HealthySince) >= p.HealthyReset {
		t.Attempts = 0
	}
	if p.MaxPerHour > 0 {
		if n := b.Count(now); n >= p.MaxPerHour {
			return OutcomeSuppressedCircuitOpen, fmt.Sprintf("circuit breaker open: %d actions in the last hour (max_actions_per_hour %d)", n, p.MaxPerHour)
		}
	}
	if p.MaxAttempts > 0 && t.Attempts >= p.MaxAttempts {
		return OutcomeSuppressedMaxAttempts, fmt.Sprintf("%d attempts since the target was last healthy (max_attempts %d)", t.Attempts, p.MaxAttempts)
	}
	if !t.LastAttempt.IsZero() {
		if next := t.LastAttempt.Add(p.Cooldown); now.Before(next) {
			return OutcomeSuppressedCooldown, fmt.Sprintf("cooldown: last attempt at %s, next allowed at %s", t.LastAttempt.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339))
		}
		if next := t.LastAttempt.Add(p.delay(t.Attempts)); now.Before(next) {
			return OutcomeSuppressedCooldown, fmt.Sprintf("backoff after %d attempts: next allowed at %s", t.Attempts, next.UTC().Format(time.RFC3339))
		}
	}
	t.Attempts++
	t.LastAttempt = now
	b.Add(now)
	return "", ""
}
