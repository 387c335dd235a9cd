package remediate

import (
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// maxClockSkew is how far ahead of the receipt an alert's time may be and
// still be believed: Prometheus, Alertmanager and this process keep
// clocks of their own, a few seconds apart.
const maxClockSkew = time.Minute

// believedTime is the time the remediator takes t, an alert's startsAt or
// endsAt, to be. It is the one place that decides how far an alert's
// timestamps are trusted; staleness, attempts and healthy-since all read
// times through it.
//
//   - A time later than the receipt (plus maxClockSkew) has not happened
//     yet: it is the receipt. Believed, a startsAt in the future would
//     look healthy long enough to reset the attempt count, and an endsAt
//     years ahead would keep a target "healthy since" a date that never
//     comes, suppressing it for ever.
//   - A time older than the store's retention is the retention's edge:
//     still older than any max_alert_age, so the alert stays stale, but
//     no longer a date whose arithmetic overflows. It is not brought to
//     the receipt: that would make a years-old replay look fresh.
//
// clamped says whether t was moved, for the warning the caller logs.
func believedTime(t, received time.Time) (believed time.Time, clamped bool) {
	if t.IsZero() {
		return t, false
	}
	if t.After(received.Add(maxClockSkew)) {
		return received, true
	}
	if oldest := received.Add(-store.Retention); t.Before(oldest) {
		return oldest, true
	}
	return t, false
}

// episodeStart is when the job's episode is believed to have started.
func episodeStart(j *store.Job) time.Time {
	t, _ := believedTime(j.StartsAt, j.ReceivedAt)
	return t
}

// episodeEnd is when the job's alert is believed to have resolved (zero
// while firing).
func episodeEnd(j *store.Job) time.Time {
	t, _ := believedTime(j.EndsAt, j.ReceivedAt)
	return t
}
