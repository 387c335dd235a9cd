package connect

import "strings"

// A failed connector or task carries a Java stack trace in its status.
// Its first line is usually Connect's wrapper ("ConnectException: Exiting
// WorkerSinkTask due to unrecoverable exception."); the problem to fix is
// named by the innermost "Caused by:" (`column "tier" of relation
// "customers" does not exist`). RootCause is the one place that picks
// the line a person is shown, for the CLI, doctor and the remediator
// alike. Whether a restart can fix the failure is a different question,
// answered from the whole trace by connectaction (classify.go), since
// Connect may wrap the telling cause anywhere in the chain.

// maxTraceLine bounds a line taken from a trace, so one message holding a
// whole SQL batch does not flood a table or an audit record.
const maxTraceLine = 500

// RootCause is the innermost "Caused by:" of the trace, exception and
// message, the message's continuation lines included (PostgreSQL's
// "Position: 37", say); the headline when there is no cause.
func RootCause(trace string) string {
	trace = strings.TrimSpace(trace)
	i := strings.LastIndex(trace, "Caused by: ")
	if i < 0 {
		return exceptionLine(trace)
	}
	return exceptionLine(trace[i+len("Caused by: "):])
}

// exceptionLine reads an exception's line and the lines that continue its
// message, up to the first stack frame, cause or suppressed exception.
func exceptionLine(s string) string {
	lines := strings.Split(s, "\n")
	parts := []string{strings.TrimSpace(lines[0])}
	for _, l := range lines[1:] {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "at ") || strings.HasPrefix(t, "Caused by:") ||
			strings.HasPrefix(t, "Suppressed:") || (strings.HasPrefix(t, "...") && strings.HasSuffix(t, "more")) {
			break
		}
		parts = append(parts, t)
	}
	out := strings.Join(parts, " ")
	if len(out) > maxTraceLine {
		cut := maxTraceLine
		for cut > 0 && out[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}
