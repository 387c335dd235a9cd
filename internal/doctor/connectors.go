package doctor

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Connector classes the doctor knows the settings of.
const (
	ClassSQLServer = "io.debezium.connector.sqlserver.SqlServerConnector"
	ClassPostgres  = "io.debezium.connector.postgresql.PostgresConnector"
	ClassJDBCSink  = "io.debezium.connector.jdbc.JdbcSinkConnector"
)

// Debezium PostgreSQL defaults for the settings the checks read.
const (
	defaultPublication = "dbz_publication"
	defaultSlot        = "debezium"
)

// connector is one connector of one cluster, with the helpers that read
// its settings the way Kafka Connect and Debezium do.
type connector struct {
	cluster string
	name    string
	typ     string
	cfg     map[string]string
	status  connect.Status

	// patterns caches each list setting compiled, by key: matching a
	// thousand tables must not compile the same regexes a thousand times.
	mu       sync.Mutex
	patterns map[string][]pattern
}

// pattern is one compiled list entry; rx is nil for Java syntax Go cannot
// compile, which is then compared as text.
type pattern struct {
	rx   *regexp.Regexp
	text string
}

func newConnector(cluster string, c connect.Connector) *connector {
	cfg := c.Info.Config
	if cfg == nil {
		cfg = map[string]string{}
	}
	return &connector{cluster: cluster, name: c.Name(), typ: c.Type(), cfg: cfg, status: c.Status}
}

func (c *connector) target() string { return connectorTarget(c.cluster, c.name) }
func (c *connector) class() string  { return c.cfg["connector.class"] }

// get returns the setting, or def when it is unset or blank.
func (c *connector) get(key, def string) string {
	if v := strings.TrimSpace(c.cfg[key]); v != "" {
		return v
	}
	return def
}

func (c *connector) isSink() bool {
	if c.typ == connect.TypeSink {
		return true
	}
	// A connector that has not started yet reports type "unknown"; a sink
	// always has topics or topics.regex.
	return c.typ != connect.TypeSource && (c.cfg["topics"] != "" || c.cfg["topics.regex"] != "")
}

func (c *connector) isDebeziumSource() bool {
	return !c.isSink() && strings.HasPrefix(c.class(), "io.debezium.connector.") && !strings.Contains(c.class(), ".jdbc.")
}

// dialect is the database driver a Debezium source reads from, or "".
func (c *connector) dialect() string {
	switch c.class() {
	case ClassSQLServer:
		return config.DriverSQLServer
	case ClassPostgres:
		return config.DriverPostgres
	}
	return ""
}

// databaseNames are the databases a source captures from: database.names
// on SQL Server (Debezium 2+), database.dbname otherwise.
func (c *connector) databaseNames() []string {
	if c.dialect() == config.DriverSQLServer {
		if names := splitList(c.cfg["database.names"]); len(names) > 0 {
			return names
		}
	}
	return splitList(c.cfg["database.dbname"])
}

func (c *connector) port() string {
	def := "5432"
	if c.dialect() == config.DriverSQLServer {
		def = "1433"
	}
	return c.get("database.port", def)
}

// qualified splits a configured table name into schema and table, with the
// dialect's default schema when it has none. A three-part SQL Server name
// (database.schema.table) keeps its last two parts.
func qualified(driver, name string) (schema, table string) {
	parts := strings.Split(name, ".")
	switch len(parts) {
	case 1:
		if driver == config.DriverSQLServer {
			return "dbo", parts[0]
		}
		return "public", parts[0]
	default:
		return parts[len(parts)-2], parts[len(parts)-1]
	}
}

// captures reports whether the source's filters select schema.table of
// database db, the way Debezium's relational table filters do: each list
// is comma separated, each entry a regular expression matched against the
// whole identifier, case-insensitively. SQL Server identifiers are tried
// both as schema.table and database.schema.table. Debezium never captures
// its system schemas.
func (c *connector) captures(db, schema, table string) bool {
	switch strings.ToLower(schema) {
	case "pg_catalog", "information_schema", "cdc", "sys":
		return false
	}
	ids := []string{schema + "." + table}
	if c.dialect() == config.DriverSQLServer {
		ids = append(ids, db+"."+schema+"."+table)
	}
	if c.cfg["schema.include.list"] != "" && !c.matchAny("schema.include.list", schema) {
		return false
	}
	if c.cfg["schema.exclude.list"] != "" && c.matchAny("schema.exclude.list", schema) {
		return false
	}
	if c.cfg["table.include.list"] != "" {
		return c.matchAny("table.include.list", ids...)
	}
	if c.cfg["table.exclude.list"] != "" && c.matchAny("table.exclude.list", ids...) {
		return false
	}
	return true
}

// literalTables are the table.include.list entries that are plain names
// rather than patterns; used when the database cannot be listed.
func (c *connector) literalTables() []string {
	var out []string
	for _, e := range splitList(c.cfg["table.include.list"]) {
		plain := strings.ReplaceAll(e, `\.`, ".")
		if identifierPath.MatchString(plain) {
			out = append(out, plain)
		}
	}
	return out
}

// identifierPath is schema.table (or database.schema.table) with no regex
// syntax but the dots.
var identifierPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)

// lookaround matches Java's lookahead and lookbehind groups, which Go's
// regexp lacks. Dropping them widens a pattern, so a table is taken as
// captured rather than reported missing on a guess.
var lookaround = regexp.MustCompile(`\(\?<?[=!][^()]*\)`)

// topicFor is the topic Debezium writes a table's changes to:
// <topic.prefix>.<schema>.<table>, with the database name before the
// schema on SQL Server.
func (c *connector) topicFor(db, schema, table string) string {
	prefix := c.get("topic.prefix", c.get("database.server.name", ""))
	if c.dialect() == config.DriverSQLServer {
		return prefix + "." + db + "." + schema + "." + table
	}
	return prefix + "." + schema + "." + table
}

// consumes reports whether a sink reads topic: it is in topics, or
// topics.regex matches all of it (Java's Matcher.matches, case-sensitive).
func (c *connector) consumes(topic string) bool {
	for _, t := range splitList(c.cfg["topics"]) {
		if t == topic {
			return true
		}
	}
	if c.cfg["topics.regex"] == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.patterns["topics.regex"]
	if !ok {
		// One expression, commas included, matched case-sensitively.
		rx, err := regexp.Compile(`^(?:` + c.cfg["topics.regex"] + `)$`)
		if err == nil {
			ps = []pattern{{rx: rx}}
		}
		c.cache("topics.regex", ps)
	}
	return len(ps) == 1 && ps[0].rx.MatchString(topic)
}

func (c *connector) cache(key string, ps []pattern) {
	if c.patterns == nil {
		c.patterns = map[string][]pattern{}
	}
	c.patterns[key] = ps
}

// signalChannels are the enabled signal channels (Debezium's default is
// the source channel alone).
func (c *connector) signalChannels() map[string]bool {
	out := map[string]bool{}
	for _, ch := range splitList(c.get("signal.enabled.channels", "source")) {
		out[strings.ToLower(ch)] = true
	}
	return out
}

// sinkEndpoint reads the database a JDBC sink writes to from its
// connection.url; ok is false when the URL is not one it understands.
func (c *connector) sinkEndpoint() (ep database.Endpoint, driver string, ok bool) {
	u := c.cfg["connection.url"]
	switch {
	case strings.HasPrefix(u, "jdbc:postgresql://"):
		p, err := url.Parse(strings.TrimPrefix(u, "jdbc:"))
		if err != nil {
			return ep, "", false
		}
		port := p.Port()
		if port == "" {
			port = "5432"
		}
		return database.Endpoint{Host: p.Hostname(), Port: port, Database: strings.TrimPrefix(p.Path, "/")}, config.DriverPostgres, true
	case strings.HasPrefix(u, "jdbc:sqlserver://"):
		rest := strings.TrimPrefix(u, "jdbc:sqlserver://")
		hostPart, props, _ := strings.Cut(rest, ";")
		host, port, hasPort := strings.Cut(hostPart, ":")
		if !hasPort {
			port = "1433"
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

// matchesDatabase reports whether the source connector reads from db: by
// the database's connectors list when it has one, else by the database
// name and port of its DSN.
func (c *connector) matchesDatabase(db *database.DB) bool {
	if names := db.Config().Connectors; len(names) > 0 {
		for _, n := range names {
			if n == c.name {
				return true
			}
		}
		return false
	}
	if c.dialect() != db.Driver() {
		return false
	}
	ep := db.Endpoint()
	if ep.Port != "" && ep.Port != c.port() {
		return false
	}
	for _, n := range c.databaseNames() {
		if sameName(db.Driver(), n, ep.Database) {
			return true
		}
	}
	return false
}

// sameName compares identifiers: SQL Server's default collations are
// case-insensitive, PostgreSQL folds unquoted names to lower case.
func sameName(driver, a, b string) bool {
	if driver == config.DriverSQLServer {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// matchAny reports whether one of the ids matches an entry of the list
// setting key.
func (c *connector) matchAny(key string, ids ...string) bool {
	c.mu.Lock()
	ps, ok := c.patterns[key]
	if !ok {
		ps = compileList(c.cfg[key])
		c.cache(key, ps)
	}
	c.mu.Unlock()
	for _, p := range ps {
		for _, id := range ids {
			if p.rx != nil && p.rx.MatchString(id) {
				return true
			}
			// Other Java-only syntax: compare the text.
			if p.rx == nil && strings.EqualFold(strings.ReplaceAll(p.text, `\.`, "."), id) {
				return true
			}
		}
	}
	return false
}

// compileList compiles a Debezium filter list: comma separated, each
// entry anchored at both ends and case-insensitive.
func compileList(list string) []pattern {
	var out []pattern
	for _, e := range splitList(list) {
		rx, err := regexp.Compile(`(?i)^(?:` + e + `)$`)
		if err != nil {
			rx, err = regexp.Compile(`(?i)^(?:` + lookaround.ReplaceAllString(e, "") + `)$`)
		}
		if err != nil {
			rx = nil
		}
		out = append(out, pattern{rx: rx, text: e})
	}
	return out
}

// splitList splits a Connect list setting on commas, trimming blanks.
func splitList(s string) []string {
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
