package connectorkind

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Setting names read in more than one place.
const (
	KeyClass          = "connector.class"
	KeyTasksMax       = "tasks.max"
	KeyTopics         = "topics"
	KeyTopicsRegex    = "topics.regex"
	KeyDLQTopic       = "errors.deadletterqueue.topic.name"
	KeyDLQReplication = "errors.deadletterqueue.topic.replication.factor"
	KeyDLQHeaders     = "errors.deadletterqueue.context.headers.enable"
	KeyTolerance      = "errors.tolerance"
	KeyHeartbeat      = "heartbeat.interval.ms"
	KeySignalTable    = "signal.data.collection"
	KeySignalChannels = "signal.enabled.channels"
	KeySignalTopic    = "signal.kafka.topic"
	// Debezium's notifications: with "sink" among the enabled channels the
	// connector writes each incremental snapshot's progress (started,
	// per-chunk, table scan completed, completed) to the sink topic.
	KeyNotificationChannels = "notification.enabled.channels"
	KeyNotificationTopic    = "notification.sink.topic.name"
	KeyTopicPrefix          = "topic.prefix"
	KeyConnectionURL        = "connection.url"
)

// Connector types as Kafka Connect reports them.
const (
	TypeSource = "source"
	TypeSink   = "sink"
)

// Connector is one connector's configuration, read the way Kafka Connect
// and the connector itself read it. It is safe for concurrent use.
type Connector struct {
	Name string
	// Type is what Connect reports ("source", "sink", "unknown" before
	// the connector has started), or "" for a configuration file.
	Type   string
	Config map[string]string

	// patterns caches each list setting compiled, by key: matching a
	// thousand tables must not compile the same regexes a thousand times.
	mu       sync.Mutex
	patterns map[string][]pattern
}

// New reads a connector's configuration.
func New(name, typ string, cfg map[string]string) *Connector {
	if cfg == nil {
		cfg = map[string]string{}
	}
	return &Connector{Name: name, Type: typ, Config: cfg}
}

// Class is connector.class.
func (c *Connector) Class() string { return strings.TrimSpace(c.Config[KeyClass]) }

// Kind is the connector's kind.
func (c *Connector) Kind() Kind { return Of(c.Class()) }

// Get returns the setting, or def when it is unset or blank.
func (c *Connector) Get(key, def string) string {
	if v := strings.TrimSpace(c.Config[key]); v != "" {
		return v
	}
	return def
}

// IsSink reports whether the connector is a sink: Connect says so, or,
// before it has started (type "unknown") or in a file, it has topics or
// topics.regex, which only sinks have.
func (c *Connector) IsSink() bool {
	if c.Type == TypeSink || c.Kind().IsJDBCSink() {
		return true
	}
	return c.Type != TypeSource && (c.Get(KeyTopics, "") != "" || c.Get(KeyTopicsRegex, "") != "")
}

// IsDebeziumSource reports whether the connector is a Debezium source
// (of any database, known to cdc-sentinel or not).
func (c *Connector) IsDebeziumSource() bool {
	if c.IsSink() {
		return false
	}
	if c.Kind().IsSource() {
		return true
	}
	class := c.Class()
	return strings.HasPrefix(class, "io.debezium.connector.") && !strings.Contains(class, ".jdbc.")
}

// Driver is the driver of the database a Debezium source reads from, or
// "" when cdc-sentinel cannot open that kind of database or the
// connector is not a source.
func (c *Connector) Driver() string {
	if c.IsSink() {
		return ""
	}
	return c.Kind().Driver()
}

// DatabaseNames are the databases a source captures from: database.names
// on SQL Server (Debezium 2 and later; one offset partition and at most
// one task each), falling back to Debezium 1's database.dbname; MySQL
// names none (it reads the whole server's binlog).
func (c *Connector) DatabaseNames() []string {
	switch c.Kind() {
	case DebeziumSQLServer:
		if names := SplitList(c.Config["database.names"]); len(names) > 0 {
			return names
		}
	case DebeziumMySQL:
		return nil
	}
	return SplitList(c.Config["database.dbname"])
}

// Hostname is database.hostname. It is not used to match a connector
// with a configured database: the worker usually reaches the database by
// a name of its own network, which differs from the one cdc-sentinel
// uses.
func (c *Connector) Hostname() string { return c.Get("database.hostname", "") }

// Port is database.port, or the connector's default.
func (c *Connector) Port() string { return c.Get("database.port", c.Kind().DefaultPort()) }

// SameName compares two database or table names the way driver's server
// does by default: SQL Server's default collations are case-insensitive,
// PostgreSQL keeps the case it was given (folding unquoted names).
func SameName(driver, a, b string) bool {
	if driver == config.DriverSQLServer {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// ReadsFrom reports whether the source reads from db: when db lists its
// connectors, by that list alone; otherwise by the driver, the port and
// a database name of the connector matching the DSN's.
func (c *Connector) ReadsFrom(db *database.DB) bool {
	if names := db.Config().Connectors; len(names) > 0 {
		for _, n := range names {
			if n == c.Name {
				return true
			}
		}
		return false
	}
	driver := c.Driver()
	if driver == "" || driver != db.Driver() {
		return false
	}
	ep := db.Endpoint()
	if ep.Database == "" || (ep.Port != "" && ep.Port != c.Port()) {
		return false
	}
	for _, n := range c.DatabaseNames() {
		if SameName(driver, n, ep.Database) {
			return true
		}
	}
	return false
}

// DatabasesOf are the databases among dbs the source reads from. A
// database that names the connector in its connectors list is
// authoritative: when any does, only those count.
func (c *Connector) DatabasesOf(dbs []*database.DB) []*database.DB {
	var explicit, inferred []*database.DB
	for _, db := range dbs {
		if !c.ReadsFrom(db) {
			continue
		}
		if len(db.Config().Connectors) > 0 {
			explicit = append(explicit, db)
		} else {
			inferred = append(inferred, db)
		}
	}
	if len(explicit) > 0 {
		return explicit
	}
	return inferred
}

// DatabaseNameFor is the name the source uses for db (SQL Server topic
// names and data collections carry it): the DSN's database, else the
// connector's first.
func (c *Connector) DatabaseNameFor(db *database.DB) string {
	if ep := db.Endpoint(); ep.Database != "" {
		return ep.Database
	}
	if names := c.DatabaseNames(); len(names) > 0 {
		return names[0]
	}
	return ""
}

// TasksMax is tasks.max (Connect's default 1).
func (c *Connector) TasksMax() int { return atoi(c.Config[KeyTasksMax], 1) }

// SignalChannels are the enabled signal channels (Debezium's default is
// the source channel alone).
func (c *Connector) SignalChannels() map[string]bool {
	out := map[string]bool{}
	for _, ch := range SplitList(c.Get(KeySignalChannels, "source")) {
		out[strings.ToLower(ch)] = true
	}
	return out
}

// SignalTable is signal.data.collection, as the connector names it.
func (c *Connector) SignalTable() string { return c.Get(KeySignalTable, "") }

// SignalKafkaTopic is signal.kafka.topic ("" when unset).
func (c *Connector) SignalKafkaTopic() string { return c.Get(KeySignalTopic, "") }

// NotificationChannels are the enabled notification channels (none by
// default).
func (c *Connector) NotificationChannels() map[string]bool {
	out := map[string]bool{}
	for _, ch := range SplitList(c.Get(KeyNotificationChannels, "")) {
		out[strings.ToLower(ch)] = true
	}
	return out
}

// NotificationTopic is the topic the connector writes its notifications
// to: notification.sink.topic.name when the sink channel is enabled, ""
// otherwise (Debezium then sends none there).
func (c *Connector) NotificationTopic() string {
	if !c.NotificationChannels()[NotificationChannelSink] {
		return ""
	}
	return c.Get(KeyNotificationTopic, "")
}

// NotificationChannelSink is the channel that writes notifications to a
// Kafka topic, the one cdc-sentinel can follow.
const NotificationChannelSink = "sink"

// HeartbeatMillis is heartbeat.interval.ms (0: no heartbeats, Debezium's
// default).
func (c *Connector) HeartbeatMillis() int { return atoi(c.Config[KeyHeartbeat], 0) }

// TopicPrefix is topic.prefix, or Debezium 1's database.server.name.
func (c *Connector) TopicPrefix() string {
	return c.Get(KeyTopicPrefix, c.Get("database.server.name", ""))
}

// SchemaHistoryTopic is the Kafka topic a Debezium source keeps its
// schema history in (schema.history.internal.kafka.topic; Debezium 1's
// database.history.kafka.topic); "" for a connector that keeps none
// there (a PostgreSQL source keeps no schema history; another storage
// class keeps it elsewhere).
func (c *Connector) SchemaHistoryTopic() string {
	if !c.IsDebeziumSource() {
		return ""
	}
	if class := c.Get("schema.history.internal", c.Get("database.history", "")); class != "" && !strings.Contains(class, "Kafka") {
		return ""
	}
	return c.Get("schema.history.internal.kafka.topic", c.Get("database.history.kafka.topic", ""))
}

// SinkEndpoint reads the database a JDBC sink writes to from its
// connection.url; ok is false when the URL is not one it understands.
func (c *Connector) SinkEndpoint() (ep database.Endpoint, driver string, ok bool) {
	u := c.Get(KeyConnectionURL, "")
	switch {
	case strings.HasPrefix(u, "jdbc:postgresql://"):
		p, err := url.Parse(strings.TrimPrefix(u, "jdbc:"))
		if err != nil {
			return ep, "", false
		}
		port := p.Port()
		if port == "" {
			port = Of(ClassPostgres).DefaultPort()
		}
		return database.Endpoint{Host: p.Hostname(), Port: port, Database: strings.TrimPrefix(p.Path, "/")}, config.DriverPostgres, true
	case strings.HasPrefix(u, "jdbc:sqlserver://"):
		rest := strings.TrimPrefix(u, "jdbc:sqlserver://")
		hostPart, props, _ := strings.Cut(rest, ";")
		host, port, hasPort := strings.Cut(hostPart, ":")
		if !hasPort {
			port = Of(ClassSQLServer).DefaultPort()
		}
		ep = database.Endpoint{Host: host, Port: port}
		for _, kv := range strings.Split(props, ";") {
			k, v, _ := strings.Cut(kv, "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "databasename", "database":
				ep.Database = strings.TrimSpace(v)
			case "portnumber", "port":
				ep.Port = strings.TrimSpace(v)
			}
		}
		return ep, config.DriverSQLServer, true
	}
	return ep, "", false
}

// WritesTo reports whether a sink writes to db, as far as its
// connection.url tells; a URL it cannot read is taken as yes.
func (c *Connector) WritesTo(db *database.DB) bool {
	ep, driver, ok := c.SinkEndpoint()
	if !ok {
		return true
	}
	tep := db.Endpoint()
	return driver == db.Driver() &&
		(tep.Database == "" || SameName(driver, ep.Database, tep.Database)) &&
		(tep.Port == "" || ep.Port == tep.Port)
}

// SplitList splits a Connect list setting on commas, trimming blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return n
	}
	return def
}

// pattern is one compiled list entry: plain for an entry without regular
// expression syntax, else rx, which is nil for Java syntax Go cannot
// compile, then compared as text.
type pattern struct {
	rx    *regexp.Regexp
	plain plainPattern
	text  string
}

func (c *Connector) compiled(key string, compile func(string) []pattern) []pattern {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.patterns[key]
	if !ok {
		ps = compile(c.Config[key])
		if c.patterns == nil {
			c.patterns = map[string][]pattern{}
		}
		c.patterns[key] = ps
	}
	return ps
}

// SlotName is a PostgreSQL source's replication slot (Debezium's default
// "debezium").
func (c *Connector) SlotName() string { return c.Get("slot.name", "debezium") }

// PublicationName is a PostgreSQL source's publication (Debezium's
// default "dbz_publication").
func (c *Connector) PublicationName() string { return c.Get("publication.name", "dbz_publication") }

// PublicationAutocreate is publication.autocreate.mode (Debezium's
// default all_tables).
func (c *Connector) PublicationAutocreate() string {
	return strings.ToLower(c.Get("publication.autocreate.mode", "all_tables"))
}
