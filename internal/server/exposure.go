package server

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"
	"gopkg.in/yaml.v3"
)

// Listen says where the HTTP server listens and how it is guarded: the
// serve flags --web.listen-address, --web.systemd-socket and
// --web.config.file; DeleteOverHTTP is the configuration's
// reconcile.http_delete_extra.
type Listen struct {
	Addresses      []string
	SystemdSocket  bool
	WebConfigFile  string
	DeleteOverHTTP bool
}

// actingEndpoints are the endpoints that act, all behind Guard.
const actingEndpoints = "POST /alerts, POST /api/v1/reconcile and POST /-/reload act on the pipeline (restarts, pauses, reconciles, repairs, reloads)"

// AlertsExposureWarning is the one place that decides whether the
// endpoints that act (the webhook, the reconcile API, reload) can be
// reached without authentication by someone they should not be: from
// beyond this host, or, when reconcile.http_delete_extra lets the API
// delete target rows, by any process on it. It returns "" when they
// cannot: authentication is configured, or every address is loopback
// and nothing over HTTP deletes. Serve logs the warning at start; doctor
// reports it (alerts-unauthenticated).
func AlertsExposureWarning(l Listen) (string, error) {
	if l.WebConfigFile != "" {
		authenticated, err := webConfigAuthenticates(l.WebConfigFile)
		if err != nil {
			return "", err
		}
		if authenticated {
			return "", nil
		}
	}
	var exposed []string
	if l.SystemdSocket {
		exposed = append(exposed, "systemd sockets (addresses not known)")
	} else {
		for _, a := range l.Addresses {
			if !isLoopback(a) {
				exposed = append(exposed, a)
			}
		}
	}
	const fix = "Set --web.config.file with basic_auth_users (and TLS), as in deploy/web/web-config.yml"
	switch {
	case len(exposed) > 0 && l.DeleteOverHTTP:
		return fmt.Sprintf("%s and are served WITHOUT AUTHENTICATION on %s, with reconcile.http_delete_extra on: "+
			"anyone who can reach them can trigger actions and delete target rows. %s, or listen on a loopback address only and turn reconcile.http_delete_extra off",
			actingEndpoints, strings.Join(exposed, ", "), fix), nil
	case len(exposed) > 0:
		return fmt.Sprintf("%s and are served WITHOUT AUTHENTICATION on %s: "+
			"anyone who can reach them can trigger actions. %s, or listen on a loopback address only",
			actingEndpoints, strings.Join(exposed, ", "), fix), nil
	case l.DeleteOverHTTP:
		return fmt.Sprintf("reconcile.http_delete_extra lets POST /api/v1/reconcile delete target rows, and it is served WITHOUT AUTHENTICATION: "+
			"any process on this host can ask for deletions. %s, or turn reconcile.http_delete_extra off", fix), nil
	}
	return "", nil
}

// webConfigAuthenticates reads the exporter-toolkit web config: basic
// auth users, or client certificates that are required and verified.
func webConfigAuthenticates(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("reading --web.config.file: %w", err)
	}
	var c web.Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return len(c.Users) > 0 || c.TLSConfig.ClientAuth == "RequireAndVerifyClientCert", nil
}

// isLoopback: "localhost:9", "127.0.0.1:9", "[::1]:9". An empty host
// (":19641") listens on every interface. A vsock address never leaves the
// machine.
func isLoopback(addr string) bool {
	if strings.HasPrefix(addr, "vsock://") {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
