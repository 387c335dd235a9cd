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
// --web.config.file.
type Listen struct {
	Addresses     []string
	SystemdSocket bool
	WebConfigFile string
}

// AlertsExposureWarning is the one place that decides whether /alerts,
// which acts on the pipeline (restarts, pauses, reconciles), can be
// reached without authentication from beyond this host. It returns ""
// when it cannot: authentication is configured, or every address is
// loopback. Serve logs the warning at start; doctor reports it.
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
	if len(exposed) == 0 {
		return "", nil
	}
	return fmt.Sprintf("POST /alerts acts on the pipeline (restarts, pauses, reconciles) and is served WITHOUT AUTHENTICATION on %s: "+
		"anyone who can reach it can trigger actions. Set --web.config.file with basic_auth_users (and TLS), as in deploy/web/web-config.yml, "+
		"or listen on a loopback address only", strings.Join(exposed, ", ")), nil
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
