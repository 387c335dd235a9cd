package vault

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// fakeVault is a small Vault written from its HTTP API documentation:
// AppRole and Kubernetes login, token renew-self, KV v2 reads, database
// secrets engine credentials and lease renewal with a maximum TTL. Errors
// come back as {"errors": [...]} like Vault's.
type fakeVault struct {
	t   *testing.T
	srv *httptest.Server
	// open counts the connections open to the fake.
	open *atomic.Int64

	mu       sync.Mutex
	tokens   map[string]time.Time // token → expiry
	kv       map[string]map[string]any
	approle  struct{ roleID, secretID string }
	k8s      struct{ role, jwt string }
	leaseTTL time.Duration
	maxTTL   time.Duration
	tokenTTL time.Duration
	leases   map[string]*fakeLease
	issued   int
	renewals int
	failNext int // answer this many requests with 503
	requests []string
	leaseLog []leaseEvent
}

type fakeLease struct {
	id       string
	user     string
	issued   time.Time
	expiry   time.Time
	maxUntil time.Time
}

type leaseEvent struct {
	user   string
	expiry time.Time
}

func newFakeVault(t *testing.T) *fakeVault {
	f := &fakeVault{
		t:        t,
		tokens:   map[string]time.Time{"root-token": time.Now().Add(time.Hour)},
		kv:       map[string]map[string]any{},
		leases:   map[string]*fakeLease{},
		leaseTTL: time.Hour,
		maxTTL:   24 * time.Hour,
		tokenTTL: time.Hour,
	}
	f.srv, f.open = testenv.ConnCountingServer(t, http.HandlerFunc(f.serve))
	return f
}

func (f *fakeVault) URL() string { return f.srv.URL }

func vaultError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"errors": []string{msg}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeVault) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if f.failNext > 0 {
		f.failNext--
		vaultError(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	var body map[string]any
	if r.Body != nil {
		json.NewDecoder(r.Body).Decode(&body)
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	switch {
	case path == "auth/approle/login" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		if body["role_id"] != f.approle.roleID || body["secret_id"] != f.approle.secretID {
			vaultError(w, http.StatusBadRequest, "invalid role or secret ID")
			return
		}
		f.writeLogin(w)
		return
	case path == "auth/kubernetes/login" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		if body["role"] != f.k8s.role || body["jwt"] != f.k8s.jwt {
			vaultError(w, http.StatusForbidden, "permission denied")
			return
		}
		f.writeLogin(w)
		return
	}
	tok := r.Header.Get("X-Vault-Token")
	if exp, ok := f.tokens[tok]; !ok || time.Now().After(exp) {
		vaultError(w, http.StatusForbidden, "permission denied")
		return
	}
	switch {
	case path == "auth/token/renew-self":
		f.tokens[tok] = time.Now().Add(f.tokenTTL)
		writeJSON(w, map[string]any{"auth": map[string]any{
			"client_token": tok, "renewable": true, "lease_duration": int(f.tokenTTL.Seconds()),
		}})
	case strings.HasPrefix(path, "secret/data/") && r.Method == http.MethodGet:
		data, ok := f.kv[strings.TrimPrefix(path, "secret/data/")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			writeJSON(w, map[string]any{"errors": []string{}})
			return
		}
		writeJSON(w, map[string]any{
			"request_id": "kv-read", "lease_id": "", "renewable": false, "lease_duration": 0,
			"data": map[string]any{
				"data":     data,
				"metadata": map[string]any{"created_time": "2024-01-01T00:00:00Z", "deletion_time": "", "destroyed": false, "version": 1},
			},
		})
	case strings.HasPrefix(path, "database/creds/") && r.Method == http.MethodGet:
		role := strings.TrimPrefix(path, "database/creds/")
		if role != "cdc" {
			vaultError(w, http.StatusBadRequest, fmt.Sprintf("unknown role: %s", role))
			return
		}
		f.issued++
		now := time.Now()
		l := &fakeLease{
			id:     fmt.Sprintf("database/creds/cdc/lease%d", f.issued),
			user:   fmt.Sprintf("v-cdc-%d", f.issued),
			issued: now, expiry: now.Add(f.leaseTTL), maxUntil: now.Add(f.maxTTL),
		}
		f.leases[l.id] = l
		f.leaseLog = append(f.leaseLog, leaseEvent{l.user, l.expiry})
		writeJSON(w, map[string]any{
			"lease_id": l.id, "renewable": true, "lease_duration": int(f.leaseTTL.Seconds()),
			"data": map[string]any{"username": l.user, "password": "pw-" + l.user},
		})
	case path == "sys/leases/renew" && r.Method == http.MethodPut:
		id, _ := body["lease_id"].(string)
		l, ok := f.leases[id]
		now := time.Now()
		if !ok || now.After(l.expiry) {
			vaultError(w, http.StatusBadRequest, "lease not found")
			return
		}
		// Vault caps a renewal at the role's max TTL, so the granted
		// duration shrinks towards the end.
		exp := now.Add(f.leaseTTL)
		if exp.After(l.maxUntil) {
			exp = l.maxUntil
		}
		l.expiry = exp
		f.renewals++
		f.leaseLog = append(f.leaseLog, leaseEvent{l.user, l.expiry})
		writeJSON(w, map[string]any{
			"lease_id": l.id, "renewable": true, "lease_duration": int(exp.Sub(now).Round(time.Second).Seconds()),
		})
	default:
		vaultError(w, http.StatusNotFound, "no handler for route "+path)
	}
}

func (f *fakeVault) writeLogin(w http.ResponseWriter) {
	tok := fmt.Sprintf("s.login%d", len(f.tokens))
	f.tokens[tok] = time.Now().Add(f.tokenTTL)
	writeJSON(w, map[string]any{"auth": map[string]any{
		"client_token": tok, "accessor": "acc", "policies": []string{"cdc"},
		"renewable": true, "lease_duration": int(f.tokenTTL.Seconds()),
	}})
}

func (f *fakeVault) with(fn func(f *fakeVault)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}
