package config

import (
	"strings"
	"testing"
)

// secretPlaces are configurations with SECRET where a user may write a
// credential, rightly or wrongly placed: as the value of a secret key, as
// a string where a section is expected, inside a list.
var secretPlaces = []string{
	"connect_clusters:\n  - name: a\n    url: http://x:8083\n    basic_auth: SECRET\n",
	"connect_clusters:\n  - name: a\n    url: http://x:8083\n    basic_auth: {username: u, password: SECRET}\n",
	"connect_clusters:\n  - name: a\n    url: http://x:8083\n    basic_auth: {username: u, password: [SECRET]}\n",
	"connect_clusters:\n  - name: a\n    url: http://u:SECRET@x:8083\n",
	"kafka:\n  brokers: [k:9092]\n  sasl: SECRET\n",
	"kafka:\n  brokers: [k:9092]\n  sasl: {mechanism: PLAIN, username: u, password: SECRET}\n",
	"kafka:\n  brokers: [k:9092]\n  sasl: {mechanism: SCRAM-SHA-512, username: u, password: {x: SECRET}}\n",
	"databases:\n  - name: d\n    driver: postgres\n    dsn: SECRET\n",
	"databases:\n  - name: d\n    driver: sqlserver\n    dsn: SECRET\n",
	"databases:\n  - name: d\n    driver: postgres\n    dsn: postgres://u:SECRET@h:5432/d\n",
	"databases:\n  - name: d\n    driver: postgres\n    dsn: [SECRET]\n",
	"remediation:\n  store: SECRET\n",
	"remediation:\n  store: {type: postgres, dsn: SECRET}\n",
	"remediation:\n  store: {type: bolt, dsn: SECRET}\n",
	"databases:\n  - name: d\n    driver: postgres\n    vault: {address: http://v:8200, auth: {token: SECRET}, kv: {path: p, dsn_key: k}}\n",
	"databases:\n  - name: d\n    driver: postgres\n    vault: {address: http://v:8200, auth: SECRET, kv: {path: p, dsn_key: k}}\n",
	"databases:\n  - name: d\n    driver: postgres\n    vault: {address: http://v:8200, auth: {approle: {role_id: r, secret_id: SECRET}}, kv: {path: p, dsn_key: k}}\n",
	"tracing:\n  endpoint: http://jaeger:4318\n  headers: SECRET\n",
	"tracing:\n  endpoint: http://jaeger:4318\n  headers: {authorization: [SECRET]}\n",
	"databases:\n  - name: d\n    driver: postgres\n    vault: {address: http://v:8200, auth: {token: t}, kv: {path: p, username_key: u, password_key: w}, dsn_template: 'postgres://{{ .Username }}:SECRET{{ .Nope }}@h/d'}\n",
}

// The rest of a secret is random; it starts with a marker so that no
// ordinary word of an error message can pass for it.
const secretMarker = "Q7zK"

// Whatever a user writes as a credential, and wherever, an error never
// shows it, not even its first characters: check-config, the logs and the
// /-/reload answer all print these errors.
func FuzzConfigErrorsNeverShowSecrets(f *testing.F) {
	for i := range secretPlaces {
		f.Add(uint8(i), "hunter2")
		f.Add(uint8(i), "p@ss word")
	}
	f.Fuzz(func(t *testing.T, place uint8, rest string) {
		// Kept a plain YAML scalar, so the secret stays one value.
		if strings.ContainsAny(rest, ":{}[],#&*!|>'\"%@`\n\r\t\\") || strings.TrimSpace(rest) != rest {
			return
		}
		secret := secretMarker + rest
		text := strings.ReplaceAll(secretPlaces[int(place)%len(secretPlaces)], "SECRET", secret)
		_, err := Parse("fuzz.yml", []byte(text))
		if err != nil && strings.Contains(err.Error(), secretMarker) {
			t.Fatalf("an error shows the secret:\nconfig:\n%s\nerror: %v", text, err)
		}
	})
}
