package vault

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// passwordIn finds the password a Vault answer carries (KV v2 nests the
// secret one level deeper than the database engine).
func passwordIn(body []byte) string {
	var v struct {
		Data struct {
			Password string `json:"password"`
			Data     struct {
				Password string `json:"password"`
			} `json:"data"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.Data.Password + v.Data.Data.Password
}

// Whatever Vault (or something pretending to be it) answers for the
// credentials, a Source never panics, applies only a DSN rendered from
// string values, and never logs the password it was sent.
func FuzzVaultSecret(f *testing.F) {
	f.Fuzz(func(t *testing.T, databaseEngine bool, body []byte) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}))
		defer srv.Close()
		cfg := config.Vault{Address: srv.URL, Auth: config.VaultAuth{Token: "t"},
			DSNTemplate: "postgres://{{ .Username | urlescape }}:{{ .Password | urlescape }}@db:5432/orders"}
		if databaseEngine {
			cfg.Database = &config.VaultDatabase{Mount: "database", Role: "orders"}
		} else {
			cfg.KV = &config.VaultKV{Mount: "secret", Path: "cdc/orders", UsernameKey: "username", PasswordKey: "password", RefreshInterval: time.Hour}
		}
		logs := &syncBuffer{}
		rec := &recorder{}
		s, err := New("orders", cfg, rec.apply, Options{
			Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			RetryMin: time.Hour, FirstFetchTimeout: 30 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Start(context.Background())
		s.Close()
		for _, dsn := range rec.all() {
			if !strings.HasPrefix(dsn, "postgres://") || strings.Contains(dsn, "<no value>") {
				t.Fatalf("applied a DSN not rendered from the secret: %q", dsn)
			}
		}
		if pw := passwordIn(body); len(pw) >= 6 && strings.Contains(logs.String(), pw) {
			t.Fatalf("the password reached the log:\n%s", logs)
		}
	})
}
