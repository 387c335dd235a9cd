// Package connectorlist is what `connectors list` shows: a cluster's
// connectors with their tasks, states and workers, as a table or JSON.
package connectorlist

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// Listing is what `connectors list` shows: every connector of a cluster
// with its tasks, and the workers they run on.
type Listing struct {
	Cluster    string          `json:"connect_cluster"`
	URL        string          `json:"url"`
	Connectors []ConnectorView `json:"connectors"`
	Workers    []WorkerView    `json:"workers"`
}

// ConnectorView is one connector as listed.
type ConnectorView struct {
	Name     string     `json:"name"`
	Type     string     `json:"type"`
	Class    string     `json:"class"`
	State    string     `json:"state"`
	WorkerID string     `json:"worker_id"`
	TasksMax int        `json:"tasks_max,omitempty"` // 0 (left out) when the configuration was not read
	Trace    string     `json:"trace,omitempty"`
	Tasks    []TaskView `json:"tasks"`
}

// TaskView is one task as listed.
type TaskView struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// WorkerView counts what runs on one worker, as far as the status shows:
// workers with nothing assigned do not appear in any status, so Connect's
// REST API cannot list them.
type WorkerView struct {
	ID         string `json:"id"`
	Connectors int    `json:"connectors"`
	Tasks      int    `json:"tasks"`
}

// List reads the cluster's connectors in one request.
func List(ctx context.Context, c *connect.Client) (*Listing, error) {
	conns, err := c.Connectors(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing connectors: %w", err)
	}
	return NewListing(c.Name(), c.URL(), conns), nil
}

// NewListing shapes an expanded connector listing for display.
func NewListing(cluster, url string, conns []connect.Connector) *Listing {
	l := &Listing{Cluster: cluster, URL: url, Connectors: []ConnectorView{}, Workers: []WorkerView{}}
	workers := map[string]*WorkerView{}
	worker := func(id string) *WorkerView {
		if workers[id] == nil {
			workers[id] = &WorkerView{ID: id}
		}
		return workers[id]
	}
	for i := range conns {
		cn := &conns[i]
		v := ConnectorView{
			Name:     cn.Name(),
			Type:     cn.Type(),
			Class:    cn.Class(),
			State:    cn.Status.Connector.State,
			WorkerID: cn.Status.Connector.WorkerID,
			Trace:    cn.Status.Connector.Trace,
			Tasks:    []TaskView{},
		}
		if cn.Info.Config != nil {
			v.TasksMax = connectorkind.New(cn.Name(), cn.Type(), cn.Info.Config).TasksMax()
		}
		if v.WorkerID != "" {
			worker(v.WorkerID).Connectors++
		}
		tasks := append([]connect.TaskInfo(nil), cn.Status.Tasks...)
		sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
		for _, t := range tasks {
			v.Tasks = append(v.Tasks, TaskView{ID: t.ID, State: t.State, WorkerID: t.WorkerID, Trace: t.Trace})
			if t.WorkerID != "" {
				worker(t.WorkerID).Tasks++
			}
		}
		l.Connectors = append(l.Connectors, v)
	}
	sort.Slice(l.Connectors, func(i, j int) bool { return l.Connectors[i].Name < l.Connectors[j].Name })
	for _, w := range workers {
		l.Workers = append(l.Workers, *w)
	}
	sort.Slice(l.Workers, func(i, j int) bool { return l.Workers[i].ID < l.Workers[j].ID })
	return l
}

// WriteJSON writes the listing as indented JSON, traces included.
func (l *Listing) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}

// WriteTable writes the listing for a terminal: a row per connector, an
// indented row per task with, in the last column, the root cause of any
// failure (the innermost "Caused by:" of its trace, which names what to
// fix; WriteJSON keeps the whole trace), and a summary of the workers.
func (l *Listing) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tTYPE\tSTATE\tTASKS\tWORKER\tCLASS")
	for _, c := range l.Connectors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, dash(c.Type), dash(c.State), taskSummary(c), dash(c.WorkerID), dash(c.Class))
		if c.Trace != "" {
			fmt.Fprintf(tw, "  connector error\t\t\t\t\t%s\n", connect.RootCause(c.Trace))
		}
		for _, t := range c.Tasks {
			// The last cell takes no part in column widths, so a long
			// error message does not push the other columns apart.
			last := dash(t.WorkerID)
			if t.Trace != "" {
				last += "\t" + connect.RootCause(t.Trace)
			}
			fmt.Fprintf(tw, "  task %d\t\t%s\t\t%s\n", t.ID, dash(t.State), last)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(l.Connectors) == 0 {
		fmt.Fprintf(w, "no connectors on connect cluster %s (%s)\n", l.Cluster, l.URL)
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tCONNECTORS\tTASKS")
	for _, wk := range l.Workers {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", wk.ID, wk.Connectors, wk.Tasks)
	}
	return tw.Flush()
}

// taskSummary reads "2/3 RUNNING" when some tasks are not running, so a
// degraded connector stands out in a long list.
func taskSummary(c ConnectorView) string {
	if len(c.Tasks) == 0 {
		return "0"
	}
	byState := map[string]int{}
	for _, t := range c.Tasks {
		byState[t.State]++
	}
	if len(byState) == 1 {
		return fmt.Sprintf("%d %s", len(c.Tasks), c.Tasks[0].State)
	}
	states := make([]string, 0, len(byState))
	for s := range byState {
		states = append(states, s)
	}
	sort.Strings(states)
	parts := make([]string, 0, len(states))
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%d/%d %s", byState[s], len(c.Tasks), s))
	}
	return strings.Join(parts, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
