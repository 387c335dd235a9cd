package connectorkind

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// SplitTable splits a configured table name into schema and table, with
// the driver's default schema when it has none. A three-part name
// (database.schema.table, as SQL Server data collections are written)
// keeps its last two parts.
func SplitTable(driver, name string) (schema, table string) {
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

// DataCollection is how the source names a table in signals and in
// signal.data.collection: database.schema.table on SQL Server and
// Oracle, database.table on MySQL, schema.table otherwise. db is the
// database the table lives in; a name that already carries the database
// keeps it.
func (k Kind) DataCollection(db, table string) string {
	info := kinds[k]
	parts := strings.Split(table, ".")
	switch {
	case info.noSchema:
		if len(parts) >= 2 {
			return parts[len(parts)-2] + "." + parts[len(parts)-1]
		}
		return db + "." + parts[0]
	case info.dbInCollection:
		if len(parts) >= 3 {
			return table
		}
		schema, name := SplitTable(k.Driver(), table)
		return db + "." + schema + "." + name
	}
	schema, name := SplitTable(k.Driver(), table)
	return schema + "." + name
}

// ParseDataCollection splits a data-collection name as the source writes
// it into its database (when the kind names one), schema and table; ok
// is false when the name has the wrong number of parts for the kind.
func (k Kind) ParseDataCollection(name string) (db, schema, table string, ok bool) {
	info := kinds[k]
	parts := strings.Split(name, ".")
	switch {
	case info.noSchema:
		if len(parts) != 2 {
			return "", "", "", false
		}
		return parts[0], "", parts[1], true
	case info.dbInCollection:
		if len(parts) != 3 {
			return "", "", "", false
		}
		return parts[0], parts[1], parts[2], true
	}
	if len(parts) != 2 {
		return "", "", "", false
	}
	return "", parts[0], parts[1], true
}

// DataCollectionFormat describes the kind's data-collection names for
// messages ("<database>.<schema>.<table>").
func (k Kind) DataCollectionFormat() string {
	info := kinds[k]
	switch {
	case info.noSchema:
		return "<database>.<table>"
	case info.dbInCollection:
		return "<database>.<schema>.<table>"
	}
	return "<schema>.<table>"
}

// Captures reports whether the source's filters select schema.table of
// database db, the way Debezium's relational table filters do: each list
// is comma separated, each entry a regular expression matched against the
// whole identifier, case-insensitively. SQL Server identifiers are tried
// both as schema.table and database.schema.table. Debezium never captures
// its system schemas.
func (c *Connector) Captures(db, schema, table string) bool {
	switch strings.ToLower(schema) {
	case "pg_catalog", "information_schema", "cdc", "sys":
		return false
	}
	ids := []string{schema + "." + table}
	switch c.Kind() {
	case DebeziumSQLServer:
		ids = append(ids, db+"."+schema+"."+table)
	case DebeziumMySQL:
		ids = []string{db + "." + table}
	}
	if c.Config["schema.include.list"] != "" && !c.matchAny("schema.include.list", schema) {
		return false
	}
	if c.Config["schema.exclude.list"] != "" && c.matchAny("schema.exclude.list", schema) {
		return false
	}
	if c.Config["table.include.list"] != "" {
		return c.matchAny("table.include.list", ids...)
	}
	if c.Config["table.exclude.list"] != "" && c.matchAny("table.exclude.list", ids...) {
		return false
	}
	return true
}

// LiteralTables are the table.include.list entries that are plain names
// rather than patterns; used when the database cannot be listed.
func (c *Connector) LiteralTables() []string {
	var out []string
	for _, e := range SplitList(c.Config["table.include.list"]) {
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

// TableTopic is the topic c writes the changes of the configured source
// table to, captured from db: the one answer doctor, repair and the
// sink-zone lookup use (on a SQL Server source whose DSN names no
// database, the database comes from database.names).
func (c *Connector) TableTopic(db *database.DB, table string) string {
	schema, name := SplitTable(db.Driver(), table)
	return c.TopicFor(c.DatabaseNameFor(db), schema, name)
}

// TopicFor is the topic Debezium writes a table's changes to:
// <topic.prefix>.<schema>.<table>, with the database name before the
// schema on SQL Server.
func (c *Connector) TopicFor(db, schema, table string) string {
	info := kinds[c.Kind()]
	switch {
	case info.noSchema:
		return c.TopicPrefix() + "." + db + "." + table
	case info.dbInTopic:
		return c.TopicPrefix() + "." + db + "." + schema + "." + table
	}
	return c.TopicPrefix() + "." + schema + "." + table
}

// matchAny reports whether one of the ids matches an entry of the list
// setting key.
func (c *Connector) matchAny(key string, ids ...string) bool {
	for _, p := range c.compiled(key, compileList) {
		for _, id := range ids {
			if p.plain != nil {
				if p.plain.match(id) {
					return true
				}
				continue
			}
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
	for _, e := range SplitList(list) {
		if pl, ok := plainEntry(e); ok {
			out = append(out, pattern{plain: pl, text: e})
			continue
		}
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

// plainPattern is a list entry made only of ordinary characters, "."
// (any one character but a newline, as in the regular expression) and
// "\." (a dot):
// what nearly every table list holds ("dbo.orders"). It matches as its
// regular expression would, case-insensitively and anchored, without the
// regular expression engine: a source capturing hundreds of listed tables
// is matched against each of them at every scrape.
type plainPattern []plainRune

type plainRune struct {
	r   rune
	any bool
}

// plainEntry reads e as a plainPattern; ok is false when e uses any
// other regular expression syntax.
func plainEntry(e string) (plainPattern, bool) {
	var p plainPattern
	rs := []rune(e)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\':
			if i+1 >= len(rs) || rs[i+1] != '.' {
				return nil, false
			}
			p = append(p, plainRune{r: '.'})
			i++
		case r == '.':
			p = append(p, plainRune{any: true})
		case strings.ContainsRune(`+*?()|[]{}^$`, r):
			return nil, false
		default:
			p = append(p, plainRune{r: r})
		}
	}
	return p, len(p) > 0
}

func (p plainPattern) match(id string) bool {
	i := 0
	for _, r := range id {
		if i >= len(p) {
			return false
		}
		if p[i].any && r == '\n' || !p[i].any && !equalFold(p[i].r, r) {
			return false
		}
		i++
	}
	return i == len(p)
}

// equalFold compares two runes under simple case folding, as (?i) does.
func equalFold(a, b rune) bool {
	if a == b {
		return true
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// SignalDataCollection is the data collection a repair's signal names
// for table of database (a database of driver, named database on its
// server): configured when set, else the table as the driver's Debezium
// source names it. A SQL Server data collection carries its database: a
// DSN that names none, with a table that does not either, leaves it
// unknown (a source may read several databases), which is an error
// rather than a signal for ".dbo.table" that Debezium would ignore.
func SignalDataCollection(driver, database, table, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	k := SourceFor(driver)
	if kinds[k].dbInCollection && database == "" && strings.Count(table, ".") < 2 {
		return "", fmt.Errorf("table %s: the source database's DSN names no database, so the data collection (%s) repair signals name is unknown: name the database in the DSN, write the table as database.schema.table, or set tables[].signal.data_collection", table, k.DataCollectionFormat())
	}
	return k.DataCollection(database, table), nil
}

// tableDatabase is the database part of a three-part table name
// (database.schema.table), "" otherwise.
func TableDatabase(table string) string {
	if parts := strings.Split(table, "."); len(parts) >= 3 {
		return parts[len(parts)-3]
	}
	return ""
}

// CapturesTable reports whether c is a Debezium source that captures
// table (as configured: schema.table, or a bare name in the driver's
// default schema) of db: it reads from db, judged among every configured
// database dbs, and its filters select the table. Doctor's findings and
// the time precision drift and reconcile compare at both rest on it.
func (c *Connector) CapturesTable(dbs []*database.DB, db *database.DB, table string) bool {
	if !c.IsDebeziumSource() || !slices.Contains(c.DatabasesOf(dbs), db) {
		return false
	}
	schema, name := SplitTable(db.Driver(), table)
	if d := TableDatabase(table); d != "" {
		return c.Captures(d, schema, name)
	}
	if db.Endpoint().Database == "" {
		// Without a database in the DSN the table may be in any of the
		// databases the source reads.
		for _, d := range c.DatabaseNames() {
			if c.Captures(d, schema, name) {
				return true
			}
		}
	}
	return c.Captures(c.DatabaseNameFor(db), schema, name)
}
