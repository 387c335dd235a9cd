package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// startWithTimeouts serves a Server whose /alerts reads the whole body, as
// the webhook receiver does, with the given connection timeouts.
func startWithTimeouts(t *testing.T, to Timeouts) string {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfgFile, []byte("connect_clusters: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	s := New(Options{Logger: slog.New(slog.DiscardHandler), ConfigFile: cfgFile, Timeouts: to,
		Build: func(ctx context.Context, cfg *config.Config) (*Runtime, error) {
			return &Runtime{Config: cfg, API: api}, nil
		}})
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return l.Addr().String()
}

// waitClosed reads until the server closes the connection. The deadline
// is generous: it only has to tell "closed" from "held open forever".
func waitClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server still holds the connection open", what)
	}
}

func TestSlowClientIsCutOff(t *testing.T) {
	addr := startWithTimeouts(t, Timeouts{Read: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A webhook POST whose body trickles in, one byte at a time, forever.
	if _, err := io.WriteString(c, "POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	waitClosed(t, c, "a client trickling its body")
}

func TestSlowHeadersAreCutOff(t *testing.T) {
	addr := startWithTimeouts(t, Timeouts{Read: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c, "a client that never finishes its headers")
}

func TestIdleKeepAliveIsClosed(t *testing.T) {
	addr := startWithTimeouts(t, Timeouts{Idle: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Healthy") || resp.Close {
		t.Fatalf("%d %q close=%v: want a kept-alive 200", resp.StatusCode, body, resp.Close)
	}
	waitClosed(t, c, "an idle keep-alive connection")
}

// The defaults let a whole request in for 30 s and fit a scrape's
// deadline inside the write timeout.
func TestDefaultTimeoutsAndScrapeDeadlineFitTheWriteTimeout(t *testing.T) {
	s := New(Options{Logger: slog.New(slog.DiscardHandler)})
	hs := s.HTTPServer()
	if hs.ReadTimeout != 30*time.Second || hs.ReadHeaderTimeout <= 0 || hs.WriteTimeout < 2*time.Minute || hs.IdleTimeout <= 0 {
		t.Fatalf("timeouts: read %s, header %s, write %s, idle %s", hs.ReadTimeout, hs.ReadHeaderTimeout, hs.WriteTimeout, hs.IdleTimeout)
	}
	r, _ := http.NewRequest("GET", "/metrics", nil)
	r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "600")
	ctx, cancel, err := s.scrapeContext(r)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if dl, _ := ctx.Deadline(); time.Until(dl) >= hs.WriteTimeout {
		t.Errorf("a 600 s scrape gets %s, past the %s write timeout", time.Until(dl), hs.WriteTimeout)
	}
}
