package collector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	errs := make([]error, len(c.clusters))
	var wg sync.WaitGroup
	for i, cl := range c.clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = collectCluster(ctx, cl, ch)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func collectCluster(ctx context.Context, cl ConnectLister, ch chan<- prometheus.Metric) error {
	cluster := cl.Name()
	start := time.Now()
	conns, err := cl.Connectors(ctx)
	ch <- prometheus.MustNewConstMetric(connectListDurationDesc, prometheus.GaugeValue, time.Since(start).Seconds(), cluster)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(connectUpDesc, prometheus.GaugeValue, 0, cluster)
		return fmt.Errorf("listing connectors: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(connectUpDesc, prometheus.GaugeValue, 1, cluster)
	ch <- prometheus.MustNewConstMetric(connectorsDesc, prometheus.GaugeValue, float64(len(conns)), cluster)
	for i := range conns {
		conn := &conns[i]
		name := conn.Name()
		emitStateSet(ch, connectorStateDesc, conn.Status.Connector.State, cluster, name)
		ch <- prometheus.MustNewConstMetric(connectorInfoDesc, prometheus.GaugeValue, 1, cluster, name, conn.Type(), conn.Class())
		ch <- prometheus.MustNewConstMetric(connectorTasksDesc, prometheus.GaugeValue, float64(len(conn.Status.Tasks)), cluster, name)
		for _, t := range conn.Status.Tasks {
			id := strconv.Itoa(t.ID)
			emitStateSet(ch, taskStateDesc, t.State, cluster, name, id)
			ch <- prometheus.MustNewConstMetric(taskInfoDesc, prometheus.GaugeValue, 1, cluster, name, id, t.WorkerID)
		}
	}
	return nil
}

// emitStateSet sends one series per known state, 1 for the current one,
// so alerts can match on state without knowing the others. labels are the
// leading label values; state is appended.
func emitStateSet(ch chan<- prometheus.Metric, desc *prometheus.Desc, current string, labels ...string) {
	values := make([]string, len(labels)+1)
	copy(values, labels)
	for _, s := range connect.States {
		v := 0.0
		if s == current {
			v = 1
		}
		values[len(labels)] = s
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, values...)
	}
}
