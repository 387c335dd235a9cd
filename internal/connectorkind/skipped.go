package connectorkind

import "strings"

// KeySkippedOperations is the Debezium source setting listing the change
// kinds it does not emit: c (create), u (update), d (delete), t
// (truncate), or none.
const KeySkippedOperations = "skipped.operations"

// SkippedOperations are the change kinds the source connector does not
// emit, lower case: skipped.operations, Debezium's default t (truncates)
// when unset, none for "none".
func (c *Connector) SkippedOperations() map[string]bool {
	out := map[string]bool{}
	for _, op := range SplitList(c.Get(KeySkippedOperations, "t")) {
		if op = strings.ToLower(op); op != "none" {
			out[op] = true
		}
	}
	return out
}

// SkipsDeletes reports whether the source connector leaves deletes out
// of its stream (d in skipped.operations): rows it deleted stay in the
// target by design.
func (c *Connector) SkipsDeletes() bool { return c.SkippedOperations()["d"] }

// DeletesRetained says why rows deleted at the source stay in the
// target by design, "" when the pipeline carries deletes through:
// source leaves them out of its stream (skipped.operations has d), or
// one of sinks, those writing topic to the target, does not apply them
// (delete.enabled off), unless it marks them as soft deletes the target
// is configured to read (softDeletes: tables[].target.deleted_column).
func DeletesRetained(source *Connector, sinks []*Connector, topic string, softDeletes bool) string {
	if source != nil && source.SkipsDeletes() {
		return "source connector " + source.Name + " has d in " + KeySkippedOperations
	}
	for _, s := range sinks {
		if !s.IsSink() || !s.Consumes(topic) || s.DeleteEnabled() {
			continue
		}
		if u, ok := s.Unwrap(); ok && u.RewritesDeletes() && softDeletes {
			continue
		}
		return "sink connector " + s.Name + " does not apply deletes (delete.enabled is false)"
	}
	return ""
}
