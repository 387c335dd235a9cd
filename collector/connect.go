package collector

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// ConnectLister is the one call the connect collector makes per cluster
// and scrape.
type ConnectLister interface {
	Name() string
	Connectors(ctx context.Context) ([]connect.Connector, error)
}

// ConnectCollector reports the state of every connector and task of one or
// more Kafka Connect clusters, from a single expanded listing per cluster.
type ConnectCollector struct {
	clusters []ConnectLister
}

// NewConnectCollector watches the given clusters.
func NewConnectCollector(clusters ...ConnectLister) *ConnectCollector {
	return &ConnectCollector{clusters: clusters}
}

var (
	connectUpDesc = prometheus.NewDesc("cdc_connect_up",
		"Whether the Kafka Connect cluster's REST API answered the listing of connectors in this scrape.",
		[]string{"connect_cluster"}, nil)
	connectListDurationDesc = prometheus.NewDesc("cdc_connect_list_duration_seconds",
		"How long the expanded listing of connectors took.",
		[]string{"connect_cluster"}, nil)
	connectorsDesc = prometheus.NewDesc("cdc_connect_connectors",
		"Number of connectors defined in the cluster.",
		[]string{"connect_cluster"}, nil)
	connectorStateDesc = prometheus.NewDesc("cdc_connect_connector_state",
		"State of a connector instance: 1 for its current state, 0 for the others.",
		[]string{"connect_cluster", "connector", "state"}, nil)
	taskStateDesc = prometheus.NewDesc("cdc_connect_task_state",
		"State of a connector task: 1 for its current state, 0 for the others.",
		[]string{"connect_cluster", "connector", "task", "state"}, nil)
	connectorInfoDesc = prometheus.NewDesc("cdc_connect_connector_info",
		"A connector's type and class; value 1.",
		[]string{"connect_cluster", "connector", "type", "class"}, nil)
	taskInfoDesc = prometheus.NewDesc("cdc_connect_task_info",
		"The worker a task runs on; value 1.",
		[]string{"connect_cluster", "connector", "task", "worker"}, nil)
	connectorTasksDesc = prometheus.NewDesc("cdc_connect_connector_tasks",
		"Number of tasks a connector has (a STOPPED connector has none).",
		[]string{"connect_cluster", "connector"}, nil)
)

// Name implements Collector.
func (c *ConnectCollector) Name() string { return "connect" }

// Collect implements Collector; each cluster is listed concurrently.
func (c *ConnectCollector) Collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	return fanOut(ctx, c.clusters, ch, collectCluster)
}

func collectCluster(ctx context.Context, cl ConnectLister, ch chan<- prometheus.Metric) error {
	cluster := cl.Name()
	start := time.Now()
	conns, err := Connectors(ctx, cl)
	ch <- prometheus.MustNewConstMetric(connectListDurationDesc, prometheus.GaugeValue, time.Since(start).Seconds(), cluster)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(connectUpDesc, prometheus.GaugeValue, 0, cluster)
		return fmt.Errorf("listing connectors: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(connectUpDesc, prometheus.GaugeValue, 1, cluster)
	ch <- prometheus.MustNewConstMetric(connectorsDesc, prometheus.GaugeValue, float64(len(conns)), cluster)

	// Label pairs shared by many series are built once per scrape.
	clusterPair := pair("connect_cluster", cluster)
	statePairs := make([]*dto.LabelPair, len(connect.States))
	for i, s := range connect.States {
		statePairs[i] = pair("state", s)
	}
	taskPairs := map[int]*dto.LabelPair{}
	taskPair := func(id int) *dto.LabelPair {
		p, ok := taskPairs[id]
		if !ok {
			p = pair("task", strconv.Itoa(id))
			taskPairs[id] = p
		}
		return p
	}
	for i := range conns {
		conn := &conns[i]
		connPair := pair("connector", conn.Name())
		emitStates(ch, connectorStateDesc, conn.Status.Connector.State, statePairs, clusterPair, connPair)
		ch <- &gauge{desc: connectorInfoDesc, value: 1, labels: sortedPairs(
			clusterPair, connPair, pair("type", conn.Type()), pair("class", conn.Class()))}
		ch <- &gauge{desc: connectorTasksDesc, value: float64(len(conn.Status.Tasks)), labels: []*dto.LabelPair{clusterPair, connPair}}
		for _, t := range conn.Status.Tasks {
			tp := taskPair(t.ID)
			emitStates(ch, taskStateDesc, t.State, statePairs, clusterPair, connPair, tp)
			ch <- &gauge{desc: taskInfoDesc, value: 1, labels: []*dto.LabelPair{clusterPair, connPair, tp, pair("worker", t.WorkerID)}}
		}
	}
	return nil
}

// emitStates sends a state set: one series per known state, 1 for the
// current one, so alerts can match on state without knowing the others.
// lead are the label pairs before "state" in name order, rest those after.
func emitStates(ch chan<- prometheus.Metric, desc *prometheus.Desc, current string, statePairs []*dto.LabelPair, labels ...*dto.LabelPair) {
	// One allocation holds every series' labels: lead pairs, the state
	// pair, then the pairs that sort after "state" (task).
	lead, tail := labels, []*dto.LabelPair(nil)
	if n := len(labels); n > 0 && labels[n-1].GetName() > "state" {
		lead, tail = labels[:n-1], labels[n-1:]
	}
	width := len(labels) + 1
	backing := make([]*dto.LabelPair, width*len(statePairs))
	gauges := make([]gauge, len(statePairs))
	for i, sp := range statePairs {
		ls := backing[i*width : (i+1)*width : (i+1)*width]
		copy(ls, lead)
		ls[len(lead)] = sp
		copy(ls[len(lead)+1:], tail)
		g := &gauges[i]
		g.desc, g.labels = desc, ls
		if sp.GetValue() == current {
			g.value = 1
		}
		ch <- g
	}
}
