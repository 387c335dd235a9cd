package connect

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// answer is a worker that gives every request the same answer.
type answer struct {
	status int
	body   []byte
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: a.status, Request: r, ContentLength: int64(len(a.body)),
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(bytes.NewReader(a.body)),
	}, nil
}

// Whatever a worker (or a proxy in front of it) answers to any call the
// client makes, the client returns an error or a value: it never
// panics, never takes a failure status for success, and its error text
// stays valid UTF-8 when the answer was, since it reaches logs, the
// audit and JSON output. The seed corpus in testdata/fuzz holds real
// answers of each endpoint.
func FuzzConnectResponses(f *testing.F) {
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		code := 200 + int(status)%400 // 200–599
		c, err := New(config.ConnectCluster{Name: "prod", URL: "http://connect.invalid:8083"},
			withHTTPClient(&http.Client{Transport: answer{code, body}}), withRetry(Retry{Attempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		calls := map[string]func() error{
			"list":   func() error { _, err := c.Connectors(ctx); return err },
			"status": func() error { _, err := c.Status(ctx, "orders-sink"); return err },
			"info":   func() error { _, err := c.Info(ctx, "orders-sink"); return err },
			"config": func() error { _, err := c.Config(ctx, "orders-sink"); return err },
			"put": func() error {
				_, err := c.PutConfig(ctx, "orders-sink", map[string]string{"tasks.max": "1"})
				return err
			},
			"delete":  func() error { return c.Delete(ctx, "orders-sink") },
			"restart": func() error { _, err := c.RestartConnector(ctx, "orders-sink", RestartOptions{}); return err },
			"restart+": func() error {
				_, err := c.RestartConnector(ctx, "orders-sink", RestartOptions{IncludeTasks: true, OnlyFailed: true})
				return err
			},
			"task":    func() error { return c.RestartTask(ctx, "orders-sink", 0) },
			"pause":   func() error { return c.Pause(ctx, "orders-sink") },
			"resume":  func() error { return c.Resume(ctx, "orders-sink") },
			"stop":    func() error { return c.Stop(ctx, "orders-sink") },
			"offsets": func() error { _, err := c.Offsets(ctx, "erp-source"); return err },
			"validate": func() error {
				_, err := c.Validate(ctx, "io.confluent.connect.jdbc.JdbcSinkConnector", map[string]string{})
				return err
			},
			"plugins":   func() error { _, err := c.Plugins(ctx); return err },
			"info root": func() error { _, err := c.ServerInfo(ctx); return err },
			"topics":    func() error { _, err := c.Topics(ctx, "orders-sink"); return err },
		}
		for name, call := range calls {
			err := call()
			if code >= 300 && err == nil {
				t.Fatalf("%s: status %d taken for success", name, code)
			}
			if err != nil && utf8.Valid(body) && !utf8.ValidString(err.Error()) {
				t.Fatalf("%s: error text is not valid UTF-8: %q", name, err.Error())
			}
		}
	})
}
