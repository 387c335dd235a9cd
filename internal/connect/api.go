package connect

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

// Connector states, as Connect reports them (STOPPED since Kafka 3.5,
// RESTARTING since KIP-745).
const (
	StateUnassigned = "UNASSIGNED"
	StateRunning    = "RUNNING"
	StatePaused     = "PAUSED"
	StateStopped    = "STOPPED"
	StateFailed     = "FAILED"
	StateRestarting = "RESTARTING"
)

// States lists every state, in the order metrics expose them.
var States = []string{StateUnassigned, StateRunning, StatePaused, StateStopped, StateFailed, StateRestarting}

// Connector types.
const (
	TypeSource = "source"
	TypeSink   = "sink"
)

// Status is a connector's status as GET /connectors/{n}/status returns it.
type Status struct {
	Name      string     `json:"name"`
	Connector Instance   `json:"connector"`
	Tasks     []TaskInfo `json:"tasks"`
	Type      string     `json:"type"`
}

// Instance is the state of the connector instance itself.
type Instance struct {
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// TaskInfo is the state of one task.
type TaskInfo struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// Task returns the task with the given id, or nil.
func (s *Status) Task(id int) *TaskInfo {
	for i := range s.Tasks {
		if s.Tasks[i].ID == id {
			return &s.Tasks[i]
		}
	}
	return nil
}

// Info is a connector's definition as GET /connectors/{n} returns it.
type Info struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []TaskID          `json:"tasks"`
	Type   string            `json:"type"`
}

// TaskID names one task of a connector.
type TaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// Connector joins a connector's status and info, as the expanded listing
// returns them.
type Connector struct {
	Status Status `json:"status"`
	Info   Info   `json:"info"`
}

// Name of the connector.
func (c *Connector) Name() string {
	if c.Status.Name != "" {
		return c.Status.Name
	}
	return c.Info.Name
}

// Type is "source" or "sink" (or "unknown" while a connector starts).
func (c *Connector) Type() string {
	if c.Info.Type != "" {
		return c.Info.Type
	}
	return c.Status.Type
}

// Class is the connector's connector.class.
func (c *Connector) Class() string { return c.Info.Config["connector.class"] }

// Connectors lists every connector with its status and info in one call
// (GET /connectors?expand=status&expand=info), sorted by name.
func (c *Client) Connectors(ctx context.Context) ([]Connector, error) {
	var byName map[string]*Connector
	q := url.Values{"expand": {"status", "info"}}
	if _, err := c.do(ctx, http.MethodGet, "/connectors", q, nil, &byName); err != nil {
		return nil, err
	}
	out := make([]Connector, 0, len(byName))
	for name, conn := range byName {
		if conn == nil {
			continue
		}
		if conn.Status.Name == "" {
			conn.Status.Name = name
		}
		out = append(out, *conn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Status.Name < out[j].Status.Name })
	return out, nil
}

// Status reads one connector's status.
func (c *Client) Status(ctx context.Context, name string) (*Status, error) {
	var s Status
	if _, err := c.do(ctx, http.MethodGet, connectorPath(name, "/status"), nil, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Info reads one connector's definition.
func (c *Client) Info(ctx context.Context, name string) (*Info, error) {
	var i Info
	if _, err := c.do(ctx, http.MethodGet, connectorPath(name, ""), nil, nil, &i); err != nil {
		return nil, err
	}
	return &i, nil
}

// Config reads one connector's configuration.
func (c *Client) Config(ctx context.Context, name string) (map[string]string, error) {
	var cfg map[string]string
	if _, err := c.do(ctx, http.MethodGet, connectorPath(name, "/config"), nil, nil, &cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// PutConfig creates the connector or replaces its whole configuration.
func (c *Client) PutConfig(ctx context.Context, name string, cfg map[string]string) (*Info, error) {
	var i Info
	if _, err := c.do(ctx, http.MethodPut, connectorPath(name, "/config"), nil, cfg, &i, http.StatusOK, http.StatusCreated); err != nil {
		return nil, err
	}
	return &i, nil
}

// Delete removes a connector.
func (c *Client) Delete(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, connectorPath(name, ""), nil, nil, nil, http.StatusNoContent, http.StatusOK)
	return err
}

// RestartOptions select what a connector restart covers (KIP-745).
type RestartOptions struct {
	IncludeTasks bool
	OnlyFailed   bool
}

// RestartConnector restarts a connector, and with opts its tasks. Connect
// answers 204 for a plain restart and 202 with the resulting status
// otherwise; the status is returned when there is one.
func (c *Client) RestartConnector(ctx context.Context, name string, opts RestartOptions) (*Status, error) {
	q := url.Values{
		"includeTasks": {strconv.FormatBool(opts.IncludeTasks)},
		"onlyFailed":   {strconv.FormatBool(opts.OnlyFailed)},
	}
	var s Status
	code, err := c.do(ctx, http.MethodPost, connectorPath(name, "/restart"), q, nil, &s, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	if err != nil || code == http.StatusNoContent {
		return nil, err
	}
	return &s, nil
}

// RestartTask restarts one task.
func (c *Client) RestartTask(ctx context.Context, name string, task int) error {
	_, err := c.do(ctx, http.MethodPost, taskPath(name, task, "/restart"), nil, nil, nil, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	return err
}

// Pause pauses a connector and its tasks; asynchronous and idempotent.
func (c *Client) Pause(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodPut, connectorPath(name, "/pause"), nil, nil, nil, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	return err
}

// Resume resumes a paused or stopped connector; asynchronous and idempotent.
func (c *Client) Resume(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodPut, connectorPath(name, "/resume"), nil, nil, nil, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	return err
}

// Stop stops a connector and shuts its tasks down (Kafka 3.5+).
func (c *Client) Stop(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodPut, connectorPath(name, "/stop"), nil, nil, nil, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
	return err
}

// Offset is one source partition's or sink topic-partition's committed
// offset, in the connector's own terms.
type Offset struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// Offsets reads a connector's committed offsets (Kafka 3.5+).
func (c *Client) Offsets(ctx context.Context, name string) ([]Offset, error) {
	var body struct {
		Offsets []Offset `json:"offsets"`
	}
	if _, err := c.do(ctx, http.MethodGet, connectorPath(name, "/offsets"), nil, nil, &body); err != nil {
		return nil, err
	}
	return body.Offsets, nil
}

// Validation is the answer of PUT /connector-plugins/{class}/config/validate.
type Validation struct {
	Name       string            `json:"name"`
	ErrorCount int               `json:"error_count"`
	Groups     []string          `json:"groups"`
	Configs    []ValidatedConfig `json:"configs"`
}

// ValidatedConfig is one field's definition and verdict.
type ValidatedConfig struct {
	Definition struct {
		Name          string `json:"name"`
		Type          string `json:"type"`
		Required      bool   `json:"required"`
		DefaultValue  any    `json:"default_value"`
		Importance    string `json:"importance"`
		Documentation string `json:"documentation"`
		Group         string `json:"group"`
	} `json:"definition"`
	Value struct {
		Name              string   `json:"name"`
		Value             any      `json:"value"`
		RecommendedValues []any    `json:"recommended_values"`
		Errors            []string `json:"errors"`
		Visible           bool     `json:"visible"`
	} `json:"value"`
}

// Validate asks a worker to validate a connector configuration.
func (c *Client) Validate(ctx context.Context, class string, cfg map[string]string) (*Validation, error) {
	var v Validation
	path := "/connector-plugins/" + url.PathEscape(class) + "/config/validate"
	if _, err := c.do(ctx, http.MethodPut, path, nil, cfg, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Plugin is an installed connector plugin.
type Plugin struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

// Plugins lists the connector plugins the worker has.
func (c *Client) Plugins(ctx context.Context) ([]Plugin, error) {
	var ps []Plugin
	if _, err := c.do(ctx, http.MethodGet, "/connector-plugins", nil, nil, &ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// ServerInfo is the worker's GET / answer.
type ServerInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	KafkaClusterID string `json:"kafka_cluster_id"`
}

// ServerInfo reads the worker's version.
func (c *Client) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	var si ServerInfo
	if _, err := c.do(ctx, http.MethodGet, "/", nil, nil, &si); err != nil {
		return nil, fmt.Errorf("reading server info: %w", err)
	}
	return &si, nil
}

// Topics lists the topics a connector has used (GET /connectors/{n}/topics).
func (c *Client) Topics(ctx context.Context, name string) ([]string, error) {
	var body map[string]struct {
		Topics []string `json:"topics"`
	}
	if _, err := c.do(ctx, http.MethodGet, connectorPath(name, "/topics"), nil, nil, &body); err != nil {
		return nil, err
	}
	return body[name].Topics, nil
}
