package doctor

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
)

// ConnectLister lists a cluster's connectors with their status and
// configuration (connect.Client does).
type ConnectLister interface {
	Connectors(ctx context.Context) ([]connect.Connector, error)
}

// Cluster is one Kafka Connect cluster to examine.
type Cluster struct {
	Name   string
	Client ConnectLister
}

// TopicLister lists the Kafka cluster's topics.
type TopicLister interface {
	Topics(ctx context.Context) (map[string]bool, error)
}

// Doctor examines a pipeline. Every field but Config may be empty: checks
// that need a missing part are skipped.
type Doctor struct {
	Config   *config.Config
	Clusters []Cluster
	// Databases by configured name.
	Databases map[string]*database.DB
	// Kafka is nil when the configuration has no kafka section.
	Kafka TopicLister
	// Topics reads a topic's value schema for the schema-drift check
	// (the zero value reads none).
	Topics schemadrift.TopicReader
	// AlertsExposure is server.AlertsExposureWarning for the serve flags
	// doctor was given: "" when /alerts is authenticated or loopback only.
	AlertsExposure string
}

// run is the state of one Run: what was read, and the findings so far.
type run struct {
	d          *Doctor
	mu         sync.Mutex
	findings   []Finding
	connectors []*connector
	// reachable are the clusters that answered; a table's coverage is
	// only judged when every cluster did.
	allClustersUp bool
	topics        map[string]bool // nil when unknown
	alive         map[string]*database.DB
	// tablesOf caches each database's table listing.
	tablesOf map[string][]schemaTable
	// capturingOf caches capturing(t): coverage, capture, signal and
	// sink matching all start from it.
	capturingOf map[*config.Table][]*connector
	// topicRetention holds the CDC topics' retention once read (nil
	// when it was not).
	topicRetention map[string]retention.TopicRetention
}

type schemaTable struct{ schema, table string }

func (r *run) add(f Finding) {
	r.mu.Lock()
	r.findings = append(r.findings, f)
	r.mu.Unlock()
}

// Run performs every check and returns the report. It does not fail:
// an upstream that cannot be reached is itself a finding.
func (d *Doctor) Run(ctx context.Context) Report {
	r := &run{d: d, alive: map[string]*database.DB{}, tablesOf: map[string][]schemaTable{}}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); r.loadConnectors(ctx) }()
	go func() { defer wg.Done(); r.loadTopics(ctx) }()
	go func() { defer wg.Done(); r.pingDatabases(ctx) }()
	wg.Wait()

	for _, c := range r.connectors {
		r.checkConnector(c)
	}
	r.checkDLQTopics()
	r.checkCoverage(ctx)
	r.checkCapture(ctx)
	r.checkWatermarks(ctx)
	r.checkSchemas(ctx)
	r.checkSignals(ctx)
	r.checkSlots(ctx)
	r.checkTopicRetention(ctx)
	r.checkSQLServerJobs(ctx)
	r.checkSQLServerVersion(ctx)
	if d.AlertsExposure != "" {
		r.add(Finding{Check: CheckAlertsUnauthenticated, Severity: Warning, Target: "server:/alerts", Message: d.AlertsExposure,
			Fix: "serve with --web.config.file=deploy/web/web-config.yml (TLS and basic auth; set the same credentials in Alertmanager's http_config, as deploy/alertmanager/alertmanager.yml shows), or listen on 127.0.0.1 only and leave reconcile.http_delete_extra off"})
	}
	return newReport(r.findings, len(r.connectors), len(d.Config.Tables), len(r.alive))
}

func (r *run) loadConnectors(ctx context.Context) {
	var wg sync.WaitGroup
	per := make([][]*connector, len(r.d.Clusters))
	up := make([]bool, len(r.d.Clusters))
	for i, cl := range r.d.Clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns, err := cl.Client.Connectors(ctx)
			if err != nil {
				r.add(Finding{
					Check: CheckConnectUnreachable, Severity: Error, Target: clusterTarget(cl.Name),
					Message: "cannot list connectors: " + err.Error() + "; connector checks for this cluster were skipped",
					Fix:     "check connect_clusters[].url and credentials for " + cl.Name + ", and that the worker's REST listener is up",
				})
				return
			}
			up[i] = true
			for _, c := range conns {
				per[i] = append(per[i], newConnector(cl.Name, c))
			}
		}()
	}
	wg.Wait()
	r.allClustersUp = true
	for i := range per {
		r.connectors = append(r.connectors, per[i]...)
		r.allClustersUp = r.allClustersUp && up[i]
	}
	sort.SliceStable(r.connectors, func(i, j int) bool { return r.connectors[i].target() < r.connectors[j].target() })
}

func (r *run) loadTopics(ctx context.Context) {
	if r.d.Kafka == nil {
		return
	}
	topics, err := r.d.Kafka.Topics(ctx)
	if err != nil {
		r.add(Finding{
			Check: CheckKafkaUnreachable, Severity: Error, Target: "kafka",
			Message: "cannot list topics: " + err.Error() + "; dead-letter topic checks were skipped",
			Fix:     "check kafka.brokers, tls and sasl in the configuration",
		})
		return
	}
	r.topics = topics
}

func (r *run) pingDatabases(ctx context.Context) {
	var wg sync.WaitGroup
	names := make([]string, 0, len(r.d.Databases))
	for n := range r.d.Databases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		db := r.d.Databases[n]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.Ping(ctx); err != nil {
				r.add(Finding{
					Check: CheckDatabaseUnreachable, Severity: Error, Target: databaseTarget(n),
					Message: err.Error() + "; checks on this database were skipped",
					Fix:     "check databases[].dsn (or dsn_file, vault) of " + n + " and that the server accepts connections from here",
				})
				return
			}
			r.mu.Lock()
			r.alive[n] = db
			r.mu.Unlock()
		}()
	}
	wg.Wait()
}

// sourcesOf are the Debezium sources that read from the named database.
func (r *run) sourcesOf(dbName string) []*connector {
	db := r.d.Databases[dbName]
	if db == nil {
		return nil
	}
	var out []*connector
	for _, c := range r.connectors {
		if c.IsDebeziumSource() && slices.Contains(c.DatabasesOf(r.allDatabases()), db) {
			out = append(out, c)
		}
	}
	return out
}

// allDatabases are the configured databases in name order.
func (r *run) allDatabases() []*database.DB {
	out := make([]*database.DB, 0, len(r.d.Databases))
	for _, name := range sortedKeys(r.d.Databases) {
		out = append(out, r.d.Databases[name])
	}
	return out
}

// capturing are the sources whose filters select the table, as
// connectorkind.Capturing finds them among the listed connectors.
func (r *run) capturing(t *config.Table) []*connector {
	r.mu.Lock()
	cached, ok := r.capturingOf[t]
	r.mu.Unlock()
	if ok {
		return cached
	}
	out := connectorkind.Capturing(r.d.Databases, *t, r.connectors)
	r.mu.Lock()
	if r.capturingOf == nil {
		r.capturingOf = map[*config.Table][]*connector{}
	}
	r.capturingOf[t] = out
	r.mu.Unlock()
	return out
}

// sourceOf is the one source connector the table's schema is read
// through, as drift and the schema collector take it
// (connectorkind.SourceConfig): the one tables[].signal.connector names,
// else the first that captures the table; nil when there is none.
func (r *run) sourceOf(t *config.Table) *connector {
	if s := t.Signal; s != nil && s.Connector != "" {
		return r.signalConnector(s)
	}
	if srcs := r.capturing(t); len(srcs) > 0 {
		return srcs[0]
	}
	return nil
}

// topicsOf are the topics the table's changes go to, one per capturing
// source.
func (r *run) topicsOf(t *config.Table) []string {
	db := r.d.Databases[t.Source.Database]
	if db == nil {
		return nil
	}
	var out []string
	for _, c := range r.capturing(t) {
		out = append(out, c.TableTopic(db, t.Source.Table))
	}
	return out
}

// sinking are the sinks that read one of the table's topics and, when
// their connection.url can be read, write to the table's target database.
func (r *run) sinking(t *config.Table) []*connector {
	topics := r.topicsOf(t)
	target := r.d.Databases[t.Target.Database]
	var out []*connector
	for _, c := range r.connectors {
		if !c.IsSink() {
			continue
		}
		reads := false
		for _, tp := range topics {
			reads = reads || c.Consumes(tp)
		}
		if !reads {
			continue
		}
		if target != nil && !c.WritesTo(target) {
			continue
		}
		out = append(out, c)
	}
	return out
}
