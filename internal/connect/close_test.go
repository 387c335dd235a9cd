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
