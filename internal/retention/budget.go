package retention

import (
	"math"
	"time"
)

// DefaultOutageBudget is how long a stage of the pipeline is expected to
// survive being down (a weekend, a maintenance window, the time to
// repair) unless kafka.outage_budget says otherwise: each stage upstream
// of it must keep what it has not taken for at least that long.
const DefaultOutageBudget = 7 * 24 * time.Hour

// forever is the retention taken as "for ever": Debezium creates its
// schema history topic with retention.ms = Long.MAX_VALUE, which is
// effectively infinite, and any retention of a century or more is too.
const forever = 100 * 365 * 24 * time.Hour

// KeepsForever tells whether the topic never deletes a record by time or
// size (retention.ms = -1 or a century or more, no retention.bytes): what
// a Debezium schema history topic needs, since the connector rebuilds
// its table schemas from the whole history when it restarts.
func (r TopicRetention) KeepsForever() bool {
	return !r.SizeLimited() && r.Seconds() >= forever.Seconds()
}

// ShortOf tells whether the topic keeps records for less than budget: a
// sink down for that long loses what the topic deleted meanwhile.
func (r TopicRetention) ShortOf(budget time.Duration) bool {
	return r.Seconds() < budget.Seconds()
}

// SourceNeeds is how long a source's retention (SQL Server's CDC
// cleanup) should keep changes given the topics its changes go to: as
// long as the shortest of them, so that a stopped source connector is
// not the first stage to lose changes; the outage budget when every
// topic keeps them for ever. ok is false without topics.
func SourceNeeds(topics []TopicRetention, budget time.Duration) (time.Duration, bool) {
	if len(topics) == 0 {
		return 0, false
	}
	shortest := math.Inf(1)
	for _, t := range topics {
		shortest = min(shortest, t.Seconds())
	}
	if math.IsInf(shortest, 1) {
		return budget, true
	}
	return time.Duration(shortest * float64(time.Second)), true
}
