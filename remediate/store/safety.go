package store

import "time"

// Breaker counts the actions taken in the last hour, in one-minute buckets
// so that its stored size stays bounded whatever the rate. It is shared
// by every rule and target (and, on the PostgreSQL store, every replica).
type Breaker struct {
	// Buckets maps a minute (Unix seconds / 60) to the actions in it.
	Buckets map[int64]int `json:"buckets,omitempty"`
}

const breakerWindow = 60 // minutes

func (b *Breaker) prune(now time.Time) {
	oldest := now.Unix()/60 - breakerWindow + 1
	for m := range b.Buckets {
		if m < oldest {
			delete(b.Buckets, m)
		}
	}
}

// Count is the number of actions in the sliding hour ending at now.
func (b *Breaker) Count(now time.Time) int {
	oldest := now.Unix()/60 - breakerWindow + 1
	n := 0
	for m, c := range b.Buckets {
		if m >= oldest {
			n += c
		}
	}
	return n
}

// Add counts one action at now.
func (b *Breaker) Add(now time.Time) {
	if b.Buckets == nil {
		b.Buckets = map[int64]int{}
	}
	b.prune(now)
	b.Buckets[now.Unix()/60]++
}

// TargetState is what the engine remembers about one (rule, action,
// target): the attempts since it was last healthy, and when.
type TargetState struct {
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitempty"`
	// HealthySince is when the target was last seen healthy after an
	// attempt: verified after the action, or its alert resolved.
	HealthySince time.Time `json:"healthy_since,omitempty"`
}

// Remove takes back one action counted at at, as when it was not taken
// after all.
func (b *Breaker) Remove(at time.Time) {
	m := at.Unix() / 60
	if b.Buckets[m] > 1 {
		b.Buckets[m]--
		return
	}
	delete(b.Buckets, m)
}
