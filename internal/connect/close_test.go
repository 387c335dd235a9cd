package connect

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A remediation action may outlive the reload that closed its client
// (it still verifies its effect): its connections must close once it is
// done instead of idling for good.
func TestCloseReleasesConnectionsOfRequestsMadeAfterIt(t *testing.T) {
	srv, open := testenv.ConnCountingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"orders-sink","connector":{"state":"RUNNING","worker_id":"w1"},"tasks":[],"type":"sink"}`)
	}))
	c, err := New(config.ConnectCluster{Name: "prod", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(context.Background(), "orders-sink"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitClosed := func(when string) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, func() bool { return open.Load() == 0 },
			func() string { return fmt.Sprintf("%s: %d connections still open", when, open.Load()) })
	}
	waitClosed("after Close")
	for range 3 {
		if _, err := c.Status(context.Background(), "orders-sink"); err != nil {
			t.Fatalf("a request after Close must still work: %v", err)
		}
	}
	waitClosed("after requests made once closed")
}

// The leak the fault suite found after fast reloads: a request in flight
// when Close runs hands its connection back to net/http's idle pool
// after Close has emptied it. The last request to end closes it.
func TestCloseReleasesTheConnectionOfARequestInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	srv, open := testenv.ConnCountingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"orders-sink","connector":{"state":"RUNNING","worker_id":"w1"},"tasks":[],"type":"sink"}`)
	}))
	c, err := New(config.ConnectCluster{Name: "prod", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := c.Status(context.Background(), "orders-sink")
		done <- err
	}()
	<-entered
	c.Close()
	if n := c.conns.count(); n != 1 {
		t.Fatalf("%d connections open while the request runs, want 1", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the request in flight at Close must finish: %v", err)
	}
	if n := c.conns.count(); n != 0 {
		t.Errorf("%d connections left open by the client after its last request", n)
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return open.Load() == 0 },
		func() string { return fmt.Sprintf("%d connections still open at the worker", open.Load()) })
}

// count is the number of connections the client holds open.
func (t *conns) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.open)
}
