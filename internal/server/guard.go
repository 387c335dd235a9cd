package server

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Guard is the one place that decides whether a request that acts (any
// method but GET, HEAD and OPTIONS: the webhook, POST /api/v1/reconcile,
// POST /-/reload, and whatever acts later) may reach its handler. Without
// it any web page a user opens could make their browser post to a
// cdc-sentinel on localhost, where no authentication is the default:
//
//   - a browser marks a request from another site Sec-Fetch-Site:
//     cross-site, and sends the page's Origin with every POST: a request
//     from an origin that is not this server's host is refused (403);
//   - a page can only send text/plain, form or multipart bodies without a
//     CORS preflight (which this server never grants): a body, or a
//     Content-Type, that is not JSON is refused (415).
//
// Alertmanager, Prometheus, curl and scripts send no Origin, so they pass;
// the webhook's application/json body passes; a bodiless POST (curl -X
// POST …/-/reload) passes.
func Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if err := crossOrigin(r); err != nil {
			http.Error(w, "refused: "+err.Error()+"; requests that act must come from this server's own origin or from no browser at all", http.StatusForbidden)
			return
		}
		if err := jsonBody(r); err != nil {
			http.Error(w, "refused: "+err.Error(), http.StatusUnsupportedMediaType)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin says why r comes from another site's page, or nil.
func crossOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); strings.EqualFold(site, "cross-site") || strings.EqualFold(site, "same-site") {
		return fmt.Errorf("the browser says the request comes from another site (Sec-Fetch-Site: %s)", site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		// "null" (a sandboxed page, a file://, a redirect) included.
		return fmt.Errorf("the request's Origin %q is not this server", origin)
	}
	if !sameHost(hostPort(u.Host, u.Scheme), hostPort(r.Host, scheme(r))) {
		return fmt.Errorf("the request's Origin %q is not this server (%s)", origin, r.Host)
	}
	return nil
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// hostPort adds the scheme's default port, so http://h and h:80 agree.
func hostPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

func sameHost(a, b string) bool { return strings.EqualFold(a, b) }

// jsonBody says why r's body is not JSON, or nil. A request without a
// body and without a Content-Type is fine.
func jsonBody(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength != 0 {
			return fmt.Errorf("a body without Content-Type: application/json")
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("Content-Type %q is not application/json", ct)
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return fmt.Errorf("Content-Type %q is not application/json", mt)
	}
	return nil
}
