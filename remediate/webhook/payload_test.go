package webhook

import (
	"bytes"
	"testing"
)

func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2025-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(bytes.NewReader(b))
		if err == nil && (len(m.Alerts) == 0 || m.Alerts[0].Fingerprint == "") {
			t.Fatalf("accepted a payload without alerts or fingerprints: %s", b)
		}
	})
}
