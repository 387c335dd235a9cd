package vault

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// syncBuffer is a log sink safe to read while the Source writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// recorder collects the DSNs a Source applies.
type recorder struct {
	mu   sync.Mutex
	dsns []string
	at   []time.Time
}

func (r *recorder) apply(dsn string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dsns = append(r.dsns, dsn)
	r.at = append(r.at, time.Now())
	return nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.dsns...)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func vaultConfig(f *fakeVault, mutate func(*config.Vault)) config.Vault {
	c := config.Vault{Address: f.URL(), Auth: config.VaultAuth{Token: "root-token"}}
	mutate(&c)
	if c.KV != nil {
		if c.KV.Mount == "" {
			c.KV.Mount = "secret"
		}
		if c.KV.UsernameKey == "" {
			c.KV.UsernameKey = "username"
		}
		if c.KV.PasswordKey == "" {
			c.KV.PasswordKey = "password"
		}
		if c.KV.RefreshInterval == 0 {
			c.KV.RefreshInterval = time.Hour
		}
	}
	if c.Database != nil && c.Database.Mount == "" {
		c.Database.Mount = "database"
	}
	return c
}

func startSource(t *testing.T, cfg config.Vault, rec *recorder, requests *Requests, logs *syncBuffer) *Source {
	t.Helper()
	opts := Options{Requests: requests, RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, FirstFetchTimeout: 2 * time.Second}
	if logs != nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New("orders", cfg, rec.apply, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	t.Cleanup(s.Close)
	return s
}

func TestKVWholeDSN(t *testing.T) {
	f := newFakeVault(t)
	f.kv["cdc/orders"] = map[string]any{"dsn": "postgres://app:s3cret@db:5432/orders"}
	rec := &recorder{}
	requests := &Requests{}
	s := startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn"}
	}), rec, requests, nil)

	if got := rec.all(); len(got) != 1 || got[0] != "postgres://app:s3cret@db:5432/orders" {
		t.Fatalf("applied %q, want the DSN from the secret", got)
	}
	if _, ok := s.LeaseExpiry(); ok {
		t.Error("a KV secret has no lease, but a lease expiry is reported")
	}
	if n, _ := requests.VaultRequests(); n < 1 {
		t.Errorf("%d requests counted as succeeded, want ≥ 1", n)
	}
}

func TestKVUsernamePasswordThroughTemplate(t *testing.T) {
	f := newFakeVault(t)
	f.kv["cdc/orders"] = map[string]any{"user": "app", "pass": "p@ss/word"}
	rec := &recorder{}
	startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.KV = &config.VaultKV{Path: "cdc/orders", UsernameKey: "user", PasswordKey: "pass"}
		c.DSNTemplate = "postgres://{{ .Username }}:{{ .Password | urlescape }}@db:5432/orders"
	}), rec, nil, nil)
	want := "postgres://app:p%40ss%2Fword@db:5432/orders"
	if got := rec.all(); len(got) != 1 || got[0] != want {
		t.Fatalf("applied %q, want %q", got, want)
	}
}

func TestKVRefreshPicksUpRotatedPassword(t *testing.T) {
	f := newFakeVault(t)
	f.kv["cdc/orders"] = map[string]any{"dsn": "dsn-v1"}
	rec := &recorder{}
	startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn", RefreshInterval: 100 * time.Millisecond}
	}), rec, nil, nil)
	time.Sleep(300 * time.Millisecond)
	if got := rec.all(); len(got) != 1 {
		t.Fatalf("an unchanged secret was applied %d times, want once (no needless pool swaps)", len(got))
	}
	f.with(func(f *fakeVault) { f.kv["cdc/orders"] = map[string]any{"dsn": "dsn-v2"} })
	waitFor(t, "the rotated DSN", 3*time.Second, func() bool {
		got := rec.all()
		return got[len(got)-1] == "dsn-v2"
	})
}

func TestDynamicCredentialsRenewedThenReplacedBeforeExpiry(t *testing.T) {
	// Vault's lifetime watcher gives up renewing a fraction of the lease
	// before its end, on the wall clock: leases of several seconds leave
	// the swap a margin that a loaded machine does not eat (with a 2s
	// lease it arrived 0.2s late under load).
	f := newFakeVault(t)
	f.leaseTTL = 6 * time.Second
	f.maxTTL = 14 * time.Second
	rec := &recorder{}
	var logs syncBuffer
	s := startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.Database = &config.VaultDatabase{Role: "cdc"}
		c.DSNTemplate = "postgres://{{ .Username }}:{{ .Password }}@db/orders"
	}), rec, nil, &logs)

	if got := rec.all(); len(got) != 1 || got[0] != "postgres://v-cdc-1:pw-v-cdc-1@db/orders" {
		t.Fatalf("first credentials: applied %q", got)
	}
	exp, ok := s.LeaseExpiry()
	if !ok || time.Until(exp) <= 0 || time.Until(exp) > 6*time.Second {
		t.Fatalf("lease expiry %v (ok %v), want within the 6s lease", exp, ok)
	}
	// The lease is renewed until the max TTL caps it; then new credentials
	// must be in place before the first lease's end.
	waitFor(t, "second credentials", time.Minute, func() bool { return len(rec.all()) >= 2 })
	var firstEnd time.Time
	f.with(func(f *fakeVault) {
		if f.renewals == 0 {
			t.Error("the lease was never renewed")
		}
		for _, e := range f.leaseLog {
			if e.user == "v-cdc-1" {
				firstEnd = e.expiry
			}
		}
	})
	rec.mu.Lock()
	swappedAt := rec.at[1]
	rec.mu.Unlock()
	if !swappedAt.Before(firstEnd) {
		t.Errorf("new credentials applied at %v, after the old lease ended at %v", swappedAt.Format(time.StampMilli), firstEnd.Format(time.StampMilli))
	}
	if got := rec.all()[1]; got != "postgres://v-cdc-2:pw-v-cdc-2@db/orders" {
		t.Errorf("second DSN %q", got)
	}
	if strings.Contains(logs.String(), "pw-v-cdc") {
		t.Errorf("a password reached the logs:\n%s", logs.String())
	}
}

func TestAppRoleLogin(t *testing.T) {
	f := newFakeVault(t)
	f.approle.roleID, f.approle.secretID = "role-1", "secret-id-1"
	f.kv["cdc/orders"] = map[string]any{"dsn": "dsn-from-approle"}
	dir := t.TempDir()
	sidFile := filepath.Join(dir, "secret-id")
	os.WriteFile(sidFile, []byte("secret-id-1\n"), 0o600)
	rec := &recorder{}
	startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.Auth = config.VaultAuth{AppRole: &config.VaultAppRole{Mount: "approle", RoleID: "role-1", SecretIDFile: sidFile}}
		c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn"}
	}), rec, nil, nil)
	if got := rec.all(); len(got) != 1 || got[0] != "dsn-from-approle" {
		t.Fatalf("applied %q", got)
	}
}

func TestKubernetesLogin(t *testing.T) {
	f := newFakeVault(t)
	f.k8s.role, f.k8s.jwt = "cdc-sentinel", "eyJhbGciOi.jwt"
	f.kv["cdc/orders"] = map[string]any{"dsn": "dsn-from-k8s"}
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte("eyJhbGciOi.jwt"), 0o600)
	rec := &recorder{}
	startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.Auth = config.VaultAuth{Kubernetes: &config.VaultKubernetes{Mount: "kubernetes", Role: "cdc-sentinel", TokenFile: tokFile}}
		c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn"}
	}), rec, nil, nil)
	if got := rec.all(); len(got) != 1 || got[0] != "dsn-from-k8s" {
		t.Fatalf("applied %q", got)
	}
}

func TestTokenFile(t *testing.T) {
	f := newFakeVault(t)
	f.kv["cdc/orders"] = map[string]any{"dsn": "dsn-from-token-file"}
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte("root-token\n"), 0o600)
	rec := &recorder{}
	startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.Auth = config.VaultAuth{TokenFile: tokFile}
		c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn"}
	}), rec, nil, nil)
	if got := rec.all(); len(got) != 1 || got[0] != "dsn-from-token-file" {
		t.Fatalf("applied %q", got)
	}
}

func TestFailuresNameTheProblemAndNeverTheSecret(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fakeVault)
		cfg     func(c *config.Vault)
		wantLog string
		// httpError: Vault answered with an error (counted as such).
		httpError bool
	}{
		{
			name:  "wrong approle secret id",
			setup: func(f *fakeVault) { f.approle.roleID, f.approle.secretID = "role-1", "the-right-one" },
			cfg: func(c *config.Vault) {
				c.Auth = config.VaultAuth{AppRole: &config.VaultAppRole{Mount: "approle", RoleID: "role-1", SecretID: "wrong-secret-id"}}
				c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn"}
			},
			wantLog:   "invalid role or secret ID",
			httpError: true,
		},
		{
			name: "bad token",
			cfg: func(c *config.Vault) {
				c.Auth = config.VaultAuth{Token: "wrong-secret-token"}
				c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn"}
			},
			wantLog:   "permission denied",
			httpError: true,
		},
		{
			name:  "kv secret lacks the password key",
			setup: func(f *fakeVault) { f.kv["cdc/orders"] = map[string]any{"username": "app", "pwd": "wrong-secret-pw"} },
			cfg: func(c *config.Vault) {
				c.KV = &config.VaultKV{Path: "cdc/orders"}
				c.DSNTemplate = "postgres://{{ .Username }}:{{ .Password }}@db/x"
			},
			wantLog: `lacks string keys \"username\" and \"password\"`,
		},
		{
			name: "unknown database role",
			cfg: func(c *config.Vault) {
				c.Database = &config.VaultDatabase{Role: "nope"}
				c.DSNTemplate = "postgres://{{ .Username }}:{{ .Password }}@db/x"
			},
			wantLog:   "unknown role: nope",
			httpError: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVault(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			requests := &Requests{}
			var logs syncBuffer
			rec := &recorder{}
			startSource(t, vaultConfig(f, tt.cfg), rec, requests, &logs)
			if len(rec.all()) != 0 {
				t.Fatal("credentials applied despite the failure")
			}
			out := logs.String()
			if !strings.Contains(out, tt.wantLog) {
				t.Errorf("log does not name the problem %q:\n%s", tt.wantLog, out)
			}
			if strings.Contains(out, "wrong-secret") || strings.Contains(out, "the-right-one") {
				t.Errorf("a secret reached the log:\n%s", out)
			}
			if _, n := requests.VaultRequests(); tt.httpError && n < 1 {
				t.Errorf("%d requests counted as failed, want ≥ 1", n)
			}
		})
	}
}

func TestRetriesUntilVaultAnswers(t *testing.T) {
	f := newFakeVault(t)
	f.kv["cdc/orders"] = map[string]any{"dsn": "dsn-after-unseal"}
	f.failNext = 3 // sealed for the first requests (the client itself retries 5xx twice)
	rec := &recorder{}
	startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn"}
	}), rec, nil, nil)
	waitFor(t, "credentials after Vault recovers", 10*time.Second, func() bool { return len(rec.all()) == 1 })
}

func TestDSNTemplateErrors(t *testing.T) {
	if _, err := ParseDSNTemplate("postgres://{{ .Username "); err == nil || !strings.Contains(err.Error(), "dsn_template is not a valid template") {
		t.Errorf("got %v", err)
	}
	tmpl, err := ParseDSNTemplate("server=db;user id={{ .Username }};password={{ odbcescape .Password }}")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tmpl.Execute(&b, struct{ Username, Password string }{"app", "a;b}c"})
	if got, want := b.String(), "server=db;user id=app;password={a;b}}c}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A reload closes the old Source and starts a new one: the old one's
// keep-alive connections to Vault must go with it.
func TestCloseReleasesTheConnectionsToVault(t *testing.T) {
	f := newFakeVault(t)
	f.kv["cdc/orders"] = map[string]any{"dsn": "postgres://app:s3cret@db:5432/orders"}
	s := startSource(t, vaultConfig(f, func(c *config.Vault) {
		c.KV = &config.VaultKV{Path: "cdc/orders", DSNKey: "dsn"}
	}), &recorder{}, nil, nil)
	if f.open.Load() == 0 {
		t.Fatal("no connection to Vault after the first fetch")
	}
	s.Close()
	waitFor(t, "the connections to Vault to close", 30*time.Second, func() bool { return f.open.Load() == 0 })
}
