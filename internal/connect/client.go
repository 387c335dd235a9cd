// Package connect is a client for the Kafka Connect REST API: the one
// listing call the collector makes per scrape, and the operations the
// remediator and the CLI perform.
package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	fastjson "github.com/goccy/go-json"
	promcfg "github.com/prometheus/common/config"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// Client talks to one Kafka Connect cluster.
type Client struct {
	name    string
	base    *url.URL
	http    *http.Client
	timeout time.Duration
	retry   Retry
	agent   string
	// onRetry, when set, hears of each retry before its wait.
	onRetry func(method, path string, err error, wait time.Duration)
	bufs    sync.Pool
	// conns tracks the connections of the HTTP client New builds, so
	// Close releases every one; nil when a test put its own client in.
	conns *conns
}

// Retry bounds the retries of requests answered 409: Connect says 409 while
// it rebalances, when the config changed under the request, or when the
// worker knows no leader, all of which pass on their own.
type Retry struct {
	Initial  time.Duration
	Max      time.Duration
	Attempts int
}

// DefaultRetry follows Strimzi's operator: 200 ms doubling, ten tries.
var DefaultRetry = Retry{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Attempts: 10}

// Option changes a Client.
type Option func(*Client)

// WithRetryNotify has notify told of each retry (a 409 from a rebalancing
// worker, say) before the client waits to send the request again; the CLI
// shows them on a terminal.
func WithRetryNotify(notify func(method, path string, err error, wait time.Duration)) Option {
	return func(c *Client) { c.onRetry = notify }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.agent = ua } }

// New builds a client from a cluster's configuration.
func New(cfg config.ConnectCluster, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("connect cluster %s: parsing url: %w", cfg.Name, err)
	}
	c := &Client{name: cfg.Name, base: u, timeout: cfg.Timeout, retry: DefaultRetry, agent: "cdc-sentinel"}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.conns = newConns()
		hc, err := promcfg.NewClientFromConfig(cfg.HTTPClientConfig(), "connect_"+cfg.Name, promcfg.WithDialContextFunc(c.conns.dial),
			// An idle connection is kept as long as Go's own default
			// transport keeps one, not the five minutes of Prometheus's
			// HTTP client: the connections a burst of remediation
			// pre-checks opened should not hold the worker's sockets
			// for minutes.
			promcfg.WithIdleConnTimeout(90*time.Second))
		if err != nil {
			return nil, fmt.Errorf("connect cluster %s: building HTTP client: %w", cfg.Name, err)
		}
		c.http = hc
	}
	return c, nil
}

// Close releases the client's keep-alive connections (and the
// goroutines serving them). A reload builds new clients, so the old ones
// must let go of theirs; a request still running finishes, and the
// connections are closed once the last one is done.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
	if c.conns != nil {
		c.conns.close()
	}
}

// Name is the cluster's configured name.
func (c *Client) Name() string { return c.name }

// URL is the cluster's base URL.
func (c *Client) URL() string { return c.base.String() }

// ErrNotFound matches (with errors.Is) a 404 from Connect: an unknown
// connector or task.
var ErrNotFound = errors.New("not found")

// ErrConflict matches a 409 that outlasted the retries.
var ErrConflict = errors.New("conflict")

// APIError is a non-2xx answer from Connect.
type APIError struct {
	Cluster string
	Method  string
	Path    string
	Status  int
	Message string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("connect cluster %s: %s %s: %d: %s", e.Cluster, e.Method, e.Path, e.Status, msg)
}

// Is lets callers test for ErrNotFound and ErrConflict.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// do sends one request, retrying 409s, and decodes a JSON answer into out
// when out is not nil. ok lists the statuses that count as success.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, out any, ok ...int) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, fmt.Errorf("connect cluster %s: encoding %s %s: %w", c.name, method, path, err)
		}
	}
	wait := c.retry.Initial
	for attempt := 1; ; attempt++ {
		status, err := c.once(ctx, method, path, query, payload, out, ok)
		if !retryable(err) || attempt >= c.retry.Attempts {
			return status, err
		}
		if c.onRetry != nil {
			c.onRetry(method, path, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return status, fmt.Errorf("%w (gave up waiting to retry: %w)", err, ctx.Err())
		case <-t.C:
		}
		if wait *= 2; c.retry.Max > 0 && wait > c.retry.Max {
			wait = c.retry.Max
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, query url.Values, payload []byte, out any, ok []int) (int, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	// path arrives escaped (see connectorPath), so names holding slashes
	// or spaces stay one segment.
	u, err := url.Parse(c.base.String() + path)
	if err != nil {
		return 0, fmt.Errorf("connect cluster %s: building %s %s: %w", c.name, method, path, err)
	}
	u.RawQuery = query.Encode()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, fmt.Errorf("connect cluster %s: building %s %s: %w", c.name, method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.conns != nil {
		if c.conns.begin() {
			req.Close = true
		}
		defer c.conns.end()
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("connect cluster %s: %s %s: %w", c.name, method, path, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if !statusOK(resp.StatusCode, ok) {
		return resp.StatusCode, c.apiError(method, path, resp)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := c.decode(resp, out); err != nil {
			return resp.StatusCode, fmt.Errorf("connect cluster %s: decoding %s %s: %w", c.name, method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// maxBody bounds what is read of one answer; the listing of thousands of
// connectors is a few megabytes.
const maxBody = 256 << 20

// decode reads the body into a buffer reused across calls, then decodes
// it with goccy/go-json, which decodes the listing three times faster than
// encoding/json (FuzzDecoderAgreesWithEncodingJSON guards that it decodes
// the same): the listing of a large cluster is megabytes, usually sent chunked,
// and growing a fresh buffer for it on every scrape would copy it several
// times. Decoded strings are copies, so the buffer can be reused at once.
func (c *Client) decode(resp *http.Response, out any) error {
	buf, _ := c.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		buf.Reset()
		c.bufs.Put(buf)
	}()
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		buf.Grow(int(n))
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBody)); err != nil {
		return err
	}
	return fastjson.Unmarshal(buf.Bytes(), out)
}

func connectorPath(name, rest string) string {
	return "/connectors/" + url.PathEscape(name) + rest
}

func taskPath(name string, task int, rest string) string {
	return "/connectors/" + url.PathEscape(name) + "/tasks/" + strconv.Itoa(task) + rest
}

// retryable reports the answers that pass on their own: 409 (rebalance,
// stale config, no leader), and the 500 a worker gives while a rebalance
// it has already seen coming has not happened yet (RebalanceNeededException,
// "Request cannot be completed because a rebalance is expected"), which
// follows connector creation and deletion.
func retryable(err error) bool {
	if errors.Is(err, ErrConflict) {
		return true
	}
	var api *APIError
	return errors.As(err, &api) && api.Status == http.StatusInternalServerError &&
		strings.Contains(strings.ToLower(api.Message), "rebalance")
}

func statusOK(status int, ok []int) bool {
	if len(ok) == 0 {
		return status >= 200 && status < 300
	}
	for _, s := range ok {
		if s == status {
			return true
		}
	}
	return false
}

func (c *Client) apiError(method, path string, resp *http.Response) error {
	e := &APIError{Cluster: c.name, Method: method, Path: path, Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &msg) == nil && msg.Message != "" {
		e.Message = msg.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			// Cut at a rune boundary: the message reaches logs, the
			// audit and JSON output, which need valid UTF-8.
			cut := 200
			for cut > 0 && !utf8.RuneStart(e.Message[cut]) {
				cut--
			}
			e.Message = e.Message[:cut] + "…"
		}
	}
	return e
}
