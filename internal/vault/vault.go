// Package vault supplies database credentials from HashiCorp Vault: a
// static secret from KV v2, or dynamic credentials from the database
// secrets engine whose lease is renewed by a LifetimeWatcher and replaced,
// before it expires, by new credentials handed to the pool.
//
// Secrets never leave this package except as the DSN given to the apply
// callback: errors and logs name paths, roles and lease durations only.
package vault

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// Requests counts the HTTP requests made to Vault, by outcome. One is
// shared by every Source and kept across reloads, so that it counts the
// process's requests; collector.VaultCollector reports it at scrape time.
type Requests struct {
	succeeded, failed atomic.Uint64
}

// VaultRequests gives the requests counted so far.
func (r *Requests) VaultRequests() (succeeded, failed uint64) {
	return r.succeeded.Load(), r.failed.Load()
}

// countingTransport counts every request by outcome.
type countingTransport struct {
	next     http.RoundTripper
	requests *Requests
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode >= 300 {
		t.requests.failed.Add(1)
	} else {
		t.requests.succeeded.Add(1)
	}
	return resp, err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport underneath.
func (t *countingTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Options tune a Source; zero values take defaults.
type Options struct {
	Logger *slog.Logger
	// Requests counts the Source's requests to Vault; when nil the
	// Source counts them in a Requests of its own.
	Requests *Requests
	// RetryMin and RetryMax bound the backoff after a failed fetch.
	RetryMin, RetryMax time.Duration
	// FirstFetchTimeout bounds the synchronous first fetch in Start.
	FirstFetchTimeout time.Duration
}

// Source keeps one database's credentials current.
type Source struct {
	name   string
	cfg    config.Vault
	client *api.Client
	http   *http.Client // the client's, to release its connections
	apply  func(dsn string) error
	tmpl   *template.Template
	opts   Options

	mu      sync.Mutex
	expiry  time.Time // zero for secrets without a lease
	lastDSN string

	cancel context.CancelFunc
	done   chan struct{}
}

// New builds a Source for the database called name. apply receives every
// new DSN (database.DB.Swap).
func New(name string, cfg config.Vault, apply func(dsn string) error, opts Options) (*Source, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Requests == nil {
		opts.Requests = &Requests{}
	}
	if opts.RetryMin == 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = time.Minute
	}
	if opts.FirstFetchTimeout == 0 {
		opts.FirstFetchTimeout = 10 * time.Second
	}
	vc := api.DefaultConfig()
	vc.Address = cfg.Address
	if t := cfg.TLSConfig; t != nil {
		if err := vc.ConfigureTLS(&api.TLSConfig{
			CACert: t.CAFile, ClientCert: t.CertFile, ClientKey: t.KeyFile,
			TLSServerName: t.ServerName, Insecure: t.InsecureSkipVerify,
		}); err != nil {
			return nil, fmt.Errorf("vault for database %s: tls: %w", name, err)
		}
	}
	vc.HttpClient.Transport = &countingTransport{next: vc.HttpClient.Transport, requests: opts.Requests}
	client, err := api.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault for database %s: %w", name, err)
	}
	// api.NewClient picks up VAULT_TOKEN; only the configured auth counts.
	client.ClearToken()
	if cfg.Namespace != "" {
		client.SetNamespace(cfg.Namespace)
	}
	s := &Source{name: name, cfg: cfg, client: client, http: vc.HttpClient, apply: apply, opts: opts}
	if cfg.DSNTemplate != "" {
		s.tmpl, err = ParseDSNTemplate(cfg.DSNTemplate.Reveal())
		if err != nil {
			return nil, fmt.Errorf("vault for database %s: %w", name, err)
		}
	}
	return s, nil
}

// ParseDSNTemplate parses a dsn_template. Besides text/template's own
// functions it offers urlescape (for user info in a URL DSN) and
// odbcescape (braces for a SQL Server key=value DSN).
func ParseDSNTemplate(text string) (*template.Template, error) {
	t, err := config.ParseDSNTemplate(text)
	if err != nil {
		return nil, fmt.Errorf("dsn_template is %w", err)
	}
	return t, nil
}

// Start fetches the first credentials (bounded by FirstFetchTimeout, so a
// dead Vault delays a start, never blocks it) and keeps them current in
// the background until Close. A failed first fetch is logged and retried:
// the database reports cdc_db_up 0 meanwhile.
func (s *Source) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	first := make(chan error, 1)
	go func() {
		defer close(s.done)
		s.run(ctx, first)
	}()
	select {
	case err := <-first:
		if err != nil {
			s.opts.Logger.Warn("vault: first credentials not fetched; retrying in the background", "database", s.name, "err", err)
		}
	case <-time.After(s.opts.FirstFetchTimeout):
		s.opts.Logger.Warn("vault: first credentials still pending; continuing in the background", "database", s.name)
	}
}

// Close stops renewing and releases the connections to Vault (a reload
// starts a new Source). Leases are left to expire rather than revoked, so
// a reload's new Source and the old pool overlap safely.
func (s *Source) Close() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	s.http.CloseIdleConnections()
}

// LeaseExpiry is when the current credentials' lease ends; ok is false
// for secrets without a lease (KV) and before the first fetch.
func (s *Source) LeaseExpiry() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expiry, !s.expiry.IsZero()
}

// Name is the database the Source serves.
func (s *Source) Name() string { return s.name }

func (s *Source) run(ctx context.Context, first chan<- error) {
	backoff := s.opts.RetryMin
	for ctx.Err() == nil {
		err := s.cycle(ctx, first)
		first = nil
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			backoff = s.opts.RetryMin
			continue
		}
		s.opts.Logger.Warn("vault: credentials not refreshed", "database", s.name, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.opts.RetryMax)
	}
}

// cycle logs in, fetches and applies credentials, then waits until they
// need replacing: the lease cannot be renewed further (the watcher stops
// with a grace period left, so the new pool is in place before the old
// credentials expire), the login token is running out, or the KV refresh
// interval has passed. A nil return means "fetch again now".
func (s *Source) cycle(ctx context.Context, first chan<- error) error {
	report := func(err error) error {
		if first != nil {
			first <- err
		}
		return err
	}
	tokenWatcher, err := s.login(ctx)
	if err != nil {
		return report(err)
	}
	if tokenWatcher != nil {
		go tokenWatcher.Start()
		defer tokenWatcher.Stop()
	}
	secret, dsn, err := s.fetch(ctx)
	if err != nil {
		return report(err)
	}
	if dsn != s.lastDSN {
		if err := s.apply(dsn); err != nil {
			return report(fmt.Errorf("vault for database %s: applying new credentials: %w", s.name, err))
		}
		s.lastDSN = dsn
	}
	if s.cfg.KV != nil {
		s.setExpiry(time.Time{})
	} else {
		s.setExpiry(time.Now().Add(time.Duration(secret.LeaseDuration) * time.Second))
	}
	_ = report(nil) // tells a waiting start-up that credentials arrived

	var tokenDone <-chan error
	if tokenWatcher != nil {
		tokenDone = tokenWatcher.DoneCh()
	}
	if s.cfg.KV != nil {
		timer := time.NewTimer(s.cfg.KV.RefreshInterval)
		defer timer.Stop()
		select {
		case <-ctx.Done():
		case <-timer.C:
		case err := <-tokenDone:
			// The login token can no longer be renewed: log in again.
			s.opts.Logger.Debug("vault: login token renewal ended", "database", s.name, "reason", err)
		}
		return nil
	}

	lw, err := s.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: secret})
	if err != nil {
		return fmt.Errorf("vault for database %s: watching lease: %w", s.name, err)
	}
	go lw.Start()
	defer lw.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-lw.RenewCh():
			s.setExpiry(r.RenewedAt.Add(time.Duration(r.Secret.LeaseDuration) * time.Second))
			s.opts.Logger.Debug("vault: lease renewed", "database", s.name, "lease_seconds", r.Secret.LeaseDuration)
		case err := <-lw.DoneCh():
			if err != nil {
				s.opts.Logger.Warn("vault: lease renewal stopped; fetching new credentials", "database", s.name, "err", err)
			} else {
				s.opts.Logger.Info("vault: lease near its end; fetching new credentials", "database", s.name)
			}
			return nil
		case err := <-tokenDone:
			// Vault revokes a token's leases with the token: get a new
			// token and new credentials before that.
			s.opts.Logger.Info("vault: login token near its end; logging in again", "database", s.name, "err", err)
			return nil
		}
	}
}

func (s *Source) setExpiry(t time.Time) {
	s.mu.Lock()
	s.expiry = t
	s.mu.Unlock()
}

// login sets the client's token. For AppRole and Kubernetes it returns a
// watcher that renews the token and stops when it cannot any more.
func (s *Source) login(ctx context.Context) (*api.LifetimeWatcher, error) {
	a := s.cfg.Auth
	var path string
	var body map[string]any
	switch {
	case a.Token != "":
		s.client.SetToken(a.Token.Reveal())
		return nil, nil
	case a.TokenFile != "":
		// Re-read on every cycle: an agent may rotate the file.
		tok, err := readSecretFile(a.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("vault for database %s: reading token_file: %w", s.name, err)
		}
		s.client.SetToken(tok)
		return nil, nil
	case a.AppRole != nil:
		secretID := a.AppRole.SecretID.Reveal()
		if a.AppRole.SecretIDFile != "" {
			var err error
			if secretID, err = readSecretFile(a.AppRole.SecretIDFile); err != nil {
				return nil, fmt.Errorf("vault for database %s: reading approle secret_id_file: %w", s.name, err)
			}
		}
		path = "auth/" + a.AppRole.Mount + "/login"
		body = map[string]any{"role_id": a.AppRole.RoleID, "secret_id": secretID}
	case a.Kubernetes != nil:
		jwt, err := readSecretFile(a.Kubernetes.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("vault for database %s: reading kubernetes service account token: %w", s.name, err)
		}
		path = "auth/" + a.Kubernetes.Mount + "/login"
		body = map[string]any{"role": a.Kubernetes.Role, "jwt": jwt}
	default:
		return nil, fmt.Errorf("vault for database %s: no auth method configured", s.name)
	}
	s.client.ClearToken()
	secret, err := s.client.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		return nil, fmt.Errorf("vault for database %s: login at %s: %w", s.name, path, err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, fmt.Errorf("vault for database %s: login at %s returned no token", s.name, path)
	}
	s.client.SetToken(secret.Auth.ClientToken)
	if !secret.Auth.Renewable && secret.Auth.LeaseDuration == 0 {
		return nil, nil
	}
	return s.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: secret})
}

func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// fetch reads the secret and builds the DSN.
func (s *Source) fetch(ctx context.Context) (*api.Secret, string, error) {
	if kv := s.cfg.KV; kv != nil {
		sec, err := s.client.KVv2(kv.Mount).Get(ctx, kv.Path)
		if err != nil {
			return nil, "", fmt.Errorf("vault for database %s: reading kv %s/%s: %w", s.name, kv.Mount, kv.Path, err)
		}
		if kv.DSNKey != "" {
			dsn, ok := sec.Data[kv.DSNKey].(string)
			if !ok || dsn == "" {
				return nil, "", fmt.Errorf("vault for database %s: kv %s/%s has no string key %q", s.name, kv.Mount, kv.Path, kv.DSNKey)
			}
			return sec.Raw, dsn, nil
		}
		dsn, err := s.render(sec.Data, kv.UsernameKey, kv.PasswordKey, fmt.Sprintf("kv %s/%s", kv.Mount, kv.Path))
		return sec.Raw, dsn, err
	}
	d := s.cfg.Database
	path := d.Mount + "/creds/" + d.Role
	sec, err := s.client.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return nil, "", fmt.Errorf("vault for database %s: reading %s: %w", s.name, path, err)
	}
	if sec == nil {
		return nil, "", fmt.Errorf("vault for database %s: %s returned nothing (is the role defined?)", s.name, path)
	}
	dsn, err := s.render(sec.Data, "username", "password", path)
	return sec, dsn, err
}

// render fills the DSN template; its errors never quote the values.
func (s *Source) render(data map[string]any, userKey, passKey, where string) (string, error) {
	user, _ := data[userKey].(string)
	pass, _ := data[passKey].(string)
	if user == "" || pass == "" {
		return "", fmt.Errorf("vault for database %s: %s lacks string keys %q and %q", s.name, where, userKey, passKey)
	}
	var b bytes.Buffer
	if err := s.tmpl.Execute(&b, config.DSNTemplateData{Username: user, Password: pass}); err != nil {
		return "", fmt.Errorf("vault for database %s: dsn_template could not be executed", s.name)
	}
	return b.String(), nil
}
