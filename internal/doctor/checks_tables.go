package doctor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// checkCoverage compares the configured tables with what the connectors
// replicate, both ways. It is skipped when a cluster did not answer: a
// table covered there would be reported as uncovered.
func (r *run) checkCoverage(ctx context.Context) {
	if !r.allClustersUp {
		return
	}
	cfg := r.d.Config
	for i := range cfg.Tables {
		t := &cfg.Tables[i]
		if r.d.Databases[t.Source.Database] == nil {
			continue
		}
		if len(r.capturing(t)) == 0 {
			r.add(r.uncoveredSource(t))
			continue
		}
		if len(r.sinking(t)) == 0 {
			r.add(r.uncoveredSink(t))
			continue
		}
		r.checkSinkTargets(t)
		r.checkTimeSettings(t)
		r.checkSharedFilter(t)
	}
	r.checkUnconfiguredSources(ctx)
	r.checkUnconfiguredSinks()
}

func (r *run) uncoveredSource(t *config.Table) Finding {
	f := Finding{Check: CheckTableNotCovered, Severity: Error, Target: tableTarget(t.Name),
		Message: fmt.Sprintf("no Debezium source connector captures %s from database %s: its changes are not replicated, and lag and drift have nothing to watch", t.Source.Table, t.Source.Database)}
	if srcs := r.sourcesOf(t.Source.Database); len(srcs) > 0 {
		var names []string
		for _, c := range srcs {
			names = append(names, c.Name)
		}
		f.Fix = fmt.Sprintf("add %s to table.include.list of %s (and check schema.include.list and table.exclude.list)", regexQuote(t.Source.Table), strings.Join(names, " or "))
		return f
	}
	db := r.d.Databases[t.Source.Database]
	f.Fix = fmt.Sprintf("register a Debezium source connector for database %s with table.include.list=%s", t.Source.Database, regexQuote(t.Source.Table))
	if len(db.Config().Connectors) > 0 {
		f.Fix += fmt.Sprintf(", or correct databases[].connectors of %s (%s): none of them exists or captures the table", t.Source.Database, strings.Join(db.Config().Connectors, ", "))
	}
	return f
}

func (r *run) uncoveredSink(t *config.Table) Finding {
	topics := r.topicsOf(t)
	f := Finding{Check: CheckTableNotCovered, Severity: Error, Target: tableTarget(t.Name),
		Message: fmt.Sprintf("no sink connector reads %s into database %s: changes stop in Kafka", strings.Join(topics, ", "), t.Target.Database)}
	var sinks []string
	target := r.d.Databases[t.Target.Database]
	for _, c := range r.connectors {
		if !c.IsSink() || target == nil {
			continue
		}
		if _, _, ok := c.SinkEndpoint(); ok && c.WritesTo(target) {
			sinks = append(sinks, c.Name)
		}
	}
	if len(sinks) > 0 {
		f.Fix = fmt.Sprintf("add %s to topics (or widen topics.regex) of %s", strings.Join(topics, ","), strings.Join(sinks, " or "))
	} else {
		f.Fix = fmt.Sprintf("register a JDBC sink connector writing to database %s with topics=%s", t.Target.Database, strings.Join(topics, ","))
	}
	return f
}

// checkUnconfiguredSources: tables a source captures that are not in the
// configuration replicate unwatched: no lag, no drift, no repair.
func (r *run) checkUnconfiguredSources(ctx context.Context) {
	configured := map[string]bool{}
	for _, t := range r.d.Config.Tables {
		if db := r.d.Databases[t.Source.Database]; db != nil {
			s, n := connectorkind.SplitTable(db.Driver(), t.Source.Table)
			configured[t.Source.Database+"|"+strings.ToLower(s+"."+n)] = true
		}
	}
	for _, c := range r.connectors {
		if !c.IsDebeziumSource() {
			continue
		}
		matched := c.DatabasesOf(r.allDatabases())
		if len(matched) == 0 {
			if c.Driver() == "" {
				continue
			}
			r.add(Finding{Check: CheckConnectorUnconfigured, Severity: Warning, Target: c.target(),
				Message: fmt.Sprintf("captures from database %s on port %s, which is not in the configuration's databases: none of its tables are watched", strings.Join(c.DatabaseNames(), ","), c.Port()),
				Fix:     fmt.Sprintf("add a databases entry whose DSN points at %s, or list %s in an existing entry's connectors", strings.Join(c.DatabaseNames(), ","), c.Name)})
			continue
		}
		signal := ""
		if st := c.SignalTable(); st != "" {
			s, n := connectorkind.SplitTable(c.Driver(), st)
			signal = strings.ToLower(s + "." + n)
		}
		var missing []string
		for _, db := range matched {
			var names []string
			if _, alive := r.alive[db.Name()]; alive {
				listed, err := r.tables(ctx, db)
				if err != nil {
					r.add(Finding{Check: CheckConnectorUnconfigured, Severity: Info, Target: databaseTarget(db.Name()),
						Message: "cannot list tables: " + err.Error(), Fix: "grant the login SELECT on the catalog views"})
					continue
				}
				for _, st := range listed {
					if c.Captures(c.DatabaseNameFor(db), st.schema, st.table) {
						names = append(names, st.schema+"."+st.table)
					}
				}
			} else {
				names = c.LiteralTables()
			}
			for _, n := range names {
				s, t := connectorkind.SplitTable(db.Driver(), n)
				key := strings.ToLower(s + "." + t)
				if key == signal || configured[db.Name()+"|"+key] {
					continue
				}
				missing = append(missing, db.Name()+":"+s+"."+t)
			}
		}
		if len(missing) == 0 {
			continue
		}
		sort.Strings(missing)
		r.add(Finding{Check: CheckConnectorUnconfigured, Severity: Warning, Target: c.target(),
			Message: fmt.Sprintf("captures %d table(s) that are not in the configuration, so their lag, drift and repair are not watched: %s", len(missing), summarize(missing, 10)),
			Fix:     "add a tables entry for each (name, source {database, table}, target {database, table}, key), or drop them from table.include.list:\n" + tablesSnippet(missing)})
	}
}

// checkUnconfiguredSinks: topics a sink reads that belong to no configured
// table.
func (r *run) checkUnconfiguredSinks() {
	known := map[string]bool{}
	for i := range r.d.Config.Tables {
		for _, tp := range r.topicsOf(&r.d.Config.Tables[i]) {
			known[tp] = true
		}
	}
	for _, c := range r.connectors {
		if !c.IsSink() {
			continue
		}
		topics := map[string]bool{}
		for _, t := range c.Topics() {
			topics[t] = true
		}
		if c.TopicsRegex() != "" {
			if r.topics == nil {
				continue // cannot enumerate the pattern without Kafka
			}
			for t := range r.topics {
				if c.Consumes(t) {
					topics[t] = true
				}
			}
		}
		var unknown []string
		for t := range topics {
			if !known[t] {
				unknown = append(unknown, t)
			}
		}
		if len(unknown) == 0 {
			continue
		}
		sort.Strings(unknown)
		r.add(Finding{Check: CheckConnectorUnconfigured, Severity: Warning, Target: c.target(),
			Message: fmt.Sprintf("reads %d topic(s) that belong to no configured table (through a configured source connector), so the tables they feed are not watched: %s", len(unknown), summarize(unknown, 10)),
			Fix:     "add a tables entry for the source table of each topic, or remove the topics from topics/topics.regex"})
	}
}

// checkCapture: a table the connector selects is still not streamed when
// the database does not record its changes: on SQL Server CDC must be
// enabled for it, on PostgreSQL it must be in the connector's publication.
func (r *run) checkCapture(ctx context.Context) {
	cdcOff := map[string]bool{}
	for i := range r.d.Config.Tables {
		t := &r.d.Config.Tables[i]
		db := r.alive[t.Source.Database]
		if db == nil {
			continue
		}
		switch db.Driver() {
		case config.DriverPostgres:
			for _, c := range r.capturing(t) {
				r.checkPublication(ctx, db, c, tableTarget(t.Name), t.Source.Table, "")
			}
		case config.DriverSQLServer:
			r.checkCDCTable(ctx, db, t, cdcOff)
		}
	}
}

// checkPublication reports table missing from the publication of source
// c. what describes the table when it is not a configured one.
func (r *run) checkPublication(ctx context.Context, db *database.DB, c *connector, target, table, what string) {
	pubName := c.PublicationName()
	pub, err := readPublication(ctx, db, pubName)
	if err != nil {
		r.add(Finding{Check: CheckTableNotCaptured, Severity: Info, Target: target, Message: "cannot read the publication: " + err.Error(),
			Fix: "grant the login SELECT on pg_publication and pg_publication_tables"})
		return
	}
	schema, name := connectorkind.SplitTable(db.Driver(), table)
	quoted := sqldialect.QuoteParts(db.Dialect(), schema, name)
	check := CheckTableNotCaptured
	if what != "" {
		check = CheckSignal
	} else {
		what = "table " + schema + "." + name
	}
	if !pub.exists {
		mode := c.PublicationAutocreate()
		msg := fmt.Sprintf("publication %s of connector %s does not exist in database %s", pubName, c.Name, db.Name())
		if mode != "disabled" {
			msg += fmt.Sprintf(" (Debezium creates it when the connector starts, publication.autocreate.mode=%s): the connector has not started against this database", mode)
		} else {
			msg += ", and publication.autocreate.mode=disabled: the connector cannot stream"
		}
		r.add(Finding{Check: check, Severity: Error, Target: target, Message: msg,
			Fix: fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s;", db.QuoteIdent(pubName), quoted)})
		return
	}
	if pub.has(schema, name) {
		return
	}
	fix := fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE %s;", db.QuoteIdent(pubName), quoted)
	if c.PublicationAutocreate() == "filtered" {
		fix += " (with publication.autocreate.mode=filtered, restarting the connector also updates it)"
	}
	r.add(Finding{Check: check, Severity: Error, Target: target,
		Message: fmt.Sprintf("%s is not in publication %s of connector %s: PostgreSQL never streams its changes, although the connector selects it", what, pubName, c.Name),
		Fix:     fix})
}

func (r *run) checkCDCTable(ctx context.Context, db *database.DB, t *config.Table, cdcOff map[string]bool) {
	target := tableTarget(t.Name)
	schema, name := connectorkind.SplitTable(db.Driver(), t.Source.Table)
	d := db.Dialect()
	enableTable := fmt.Sprintf("EXEC sys.sp_cdc_enable_table @source_schema = %s, @source_name = %s, @role_name = NULL, @supports_net_changes = 0;", d.Literal(schema), d.Literal(name))
	off, known := cdcOff[db.Name()]
	if !known {
		var enabled bool
		err := query(ctx, db, "reading sys.databases.is_cdc_enabled", func(pool *sql.DB, ctx context.Context) error {
			return pool.QueryRowContext(ctx, database.CDCEnabledQuery).Scan(&enabled)
		})
		if err != nil {
			r.add(Finding{Check: CheckTableNotCaptured, Severity: Info, Target: databaseTarget(db.Name()), Message: "cannot tell whether CDC is enabled: " + err.Error(),
				Fix: "grant the login VIEW DATABASE STATE and SELECT on sys.databases"})
			return
		}
		off = !enabled
		cdcOff[db.Name()] = off
		if off {
			r.add(Finding{Check: CheckTableNotCaptured, Severity: Error, Target: databaseTarget(db.Name()),
				Message: "change data capture is not enabled for the database: no table of it is captured",
				Fix:     "EXEC sys.sp_cdc_enable_db; (as sysadmin, in the database), then enable each table"})
		}
	}
	if off {
		r.add(Finding{Check: CheckTableNotCaptured, Severity: Error, Target: target,
			Message: fmt.Sprintf("%s.%s is not captured: CDC is not enabled for database %s", schema, name, db.Name()),
			Fix:     "EXEC sys.sp_cdc_enable_db; then " + enableTable})
		return
	}
	qualifiedName := schema + "." + name
	// OBJECT_ID parses its argument as a name: quoted, a schema or table
	// with a space, a dot or a bracket in it is still one part.
	object := sqldialect.QuoteParts(d, schema, name)
	var tracked sql.NullBool
	err := query(ctx, db, "reading sys.tables.is_tracked_by_cdc of "+qualifiedName, func(pool *sql.DB, ctx context.Context) error {
		return pool.QueryRowContext(ctx, SQLServerTrackedQuery, object).Scan(&tracked)
	})
	if errors.Is(err, sql.ErrNoRows) {
		r.add(Finding{Check: CheckTableNotCaptured, Severity: Error, Target: target,
			Message: fmt.Sprintf("source table %s does not exist in database %s (or the login cannot see it)", qualifiedName, db.Name()),
			Fix:     fmt.Sprintf("correct tables[].source.table of %s, or grant the login SELECT on it", t.Name)})
		return
	}
	if err != nil {
		r.add(Finding{Check: CheckTableNotCaptured, Severity: Info, Target: target, Message: "cannot read is_tracked_by_cdc: " + err.Error(), Fix: "grant the login SELECT on sys.tables"})
		return
	}
	var instances int
	err = query(ctx, db, "counting capture instances of "+qualifiedName, func(pool *sql.DB, ctx context.Context) error {
		return pool.QueryRowContext(ctx, SQLServerCaptureInstancesQuery, object).Scan(&instances)
	})
	if err != nil {
		r.add(Finding{Check: CheckTableNotCaptured, Severity: Info, Target: target, Message: "cannot read cdc.change_tables: " + err.Error(), Fix: "grant the login SELECT on the cdc schema"})
		return
	}
	r.checkPeriodEnd(ctx, db, t, qualifiedName, object)
	switch {
	case !tracked.Bool && instances == 0:
		r.add(Finding{Check: CheckTableNotCaptured, Severity: Error, Target: target,
			Message: fmt.Sprintf("%s is not captured: CDC is not enabled for the table (is_tracked_by_cdc = 0, no capture instance), so Debezium sees none of its changes", qualifiedName),
			Fix:     enableTable})
	case !tracked.Bool || instances == 0:
		r.add(Finding{Check: CheckTableNotCaptured, Severity: Error, Target: target,
			Message: fmt.Sprintf("%s is half-enabled for CDC (is_tracked_by_cdc = %t, %d capture instance(s)): its changes are not captured reliably", qualifiedName, tracked.Bool, instances),
			Fix:     fmt.Sprintf("EXEC sys.sp_cdc_disable_table @source_schema = %s, @source_name = %s, @capture_instance = N'all'; then %s", d.Literal(schema), d.Literal(name), enableTable)})
	}
}

// checkWatermarks: lag is read as the newest watermark value in the
// target table, which the sink fills from the change event's source
// timestamp.
func (r *run) checkWatermarks(ctx context.Context) {
	for i := range r.d.Config.Tables {
		t := &r.d.Config.Tables[i]
		db := r.alive[t.Target.Database]
		if db == nil {
			continue
		}
		cols, err := columns(ctx, db, t.Target.Table)
		if err != nil {
			r.add(Finding{Check: CheckWatermarkColumn, Severity: Info, Target: tableTarget(t.Name), Message: "cannot read the target table's columns: " + err.Error(),
				Fix: "grant the login SELECT on information_schema.columns"})
			continue
		}
		col := t.WatermarkColumn
		if db.Driver() == config.DriverSQLServer {
			col = strings.ToLower(col)
		}
		switch {
		case len(cols) == 0:
			r.add(Finding{Check: CheckWatermarkColumn, Severity: Error, Target: tableTarget(t.Name),
				Message: fmt.Sprintf("target table %s does not exist in database %s (or the login cannot see it): nothing can be measured there", t.Target.Table, t.Target.Database),
				Fix:     fmt.Sprintf("correct tables[].target.table of %s, or let the sink create it (schema.evolution=basic on the Debezium JDBC sink)", t.Name)})
		case !cols[col]:
			r.add(Finding{Check: CheckWatermarkColumn, Severity: Warning, Target: tableTarget(t.Name),
				Message: fmt.Sprintf("target table %s has no watermark column %s: replication lag of this table cannot be measured", t.Target.Table, t.WatermarkColumn),
				Fix:     r.watermarkFix(t, db)})
		}
	}
}

func (r *run) watermarkFix(t *config.Table, db *database.DB) string {
	colType := "BIGINT"
	add := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s;", db.QuoteTable(t.Target.Table), db.QuoteIdent(t.WatermarkColumn), colType)
	if db.Driver() == config.DriverSQLServer {
		add = fmt.Sprintf("ALTER TABLE %s ADD %s %s NULL;", db.QuoteTable(t.Target.Table), db.QuoteIdent(t.WatermarkColumn), colType)
	}
	if t.WatermarkColumn != config.DefaultWatermarkColumn {
		return fmt.Sprintf("set tables[].watermark_column of %s to a column that holds the source commit time, or %s and have the sink fill it", t.Name, add)
	}
	sinks := r.sinking(t)
	name := "the sink"
	if len(sinks) > 0 {
		name = sinks[0].Name
	}
	return fmt.Sprintf("on %s set transforms.unwrap.type=%s with transforms.unwrap.add.fields=source.ts_ms (it writes %s) and schema.evolution=basic, or %s",
		name, connectorkind.TransformUnwrap, config.DefaultWatermarkColumn, add)
}

// checkSignals: repair re-sends rows with an incremental snapshot, which
// needs the table's signal configured here and a matching signal channel
// and table on the source connector.
func (r *run) checkSignals(ctx context.Context) {
	for i := range r.d.Config.Tables {
		t := &r.d.Config.Tables[i]
		if t.Signal == nil {
			r.add(r.noSignal(i, t))
			continue
		}
		r.checkSignal(ctx, t)
	}
}

// checkNotificationTopic: a table that names the topic its repairs'
// progress is read from must name the one the connector writes to, or
// every repair ends timed_out with nothing heard.
func (r *run) checkNotificationTopic(t *config.Table, c *connector) {
	want := t.Signal.NotificationTopic
	if want == "" {
		return
	}
	switch got := c.NotificationTopic(); {
	case got == "":
		r.add(Finding{Check: CheckNotification, Severity: Warning, Target: tableTarget(t.Name),
			Message: fmt.Sprintf("repair progress is read from topic %s, but connector %s sends no notifications to Kafka: every repair of the table will end timed_out", want, c.Name),
			Fix:     fmt.Sprintf("on %s set notification.enabled.channels=sink and notification.sink.topic.name=%s", c.Name, want)})
	case got != want:
		r.add(Finding{Check: CheckNotification, Severity: Warning, Target: tableTarget(t.Name),
			Message: fmt.Sprintf("repair progress is read from topic %s, but connector %s writes its notifications to %s: every repair of the table will end timed_out", want, c.Name, got),
			Fix:     fmt.Sprintf("set tables[].signal.notification_topic of %s to %s, or leave it out to read the connector's", t.Name, got)})
	}
}

func (r *run) noSignal(i int, t *config.Table) Finding {
	f := Finding{Check: CheckSignal, Severity: Warning, Target: tableTarget(t.Name),
		Message: "no signal configured (tables[].signal unset): repair cannot ask the source connector to re-send rows of this table"}
	conn, table := "<source connector>", "<schema>.debezium_signal"
	if srcs := r.capturing(t); len(srcs) > 0 {
		conn = srcs[0].Name
		if st := srcs[0].SignalTable(); st != "" {
			table = st
		}
	}
	f.Fix = fmt.Sprintf("add to tables[%d] (%s):\n  signal:\n    connector: %s\n    table: %s", i, t.Name, conn, table)
	return f
}

func (r *run) checkSignal(ctx context.Context, t *config.Table) {
	s := t.Signal
	c := r.signalConnector(s)
	if c == nil {
		if r.allClustersUp {
			r.add(Finding{Check: CheckSignal, Severity: Error, Target: tableTarget(t.Name),
				Message: fmt.Sprintf("signal connector %s does not exist: repair cannot run", s.Connector),
				Fix:     fmt.Sprintf("set tables[].signal.connector of %s to the Debezium source that captures %s", t.Name, t.Source.Table)})
		}
		return
	}
	r.checkSignalChannels(t, c)
	r.checkDataCollection(t, c)
	r.checkNotificationTopic(t, c)
	coll := c.SignalTable()
	if coll == "" {
		// The connector-level finding says how to add one; say here why
		// this table's repair fails.
		r.signalBroken(t, fmt.Sprintf("connector %s has no signal.data.collection, which incremental snapshots need for their watermarks even when signals come through Kafka", c.Name),
			fmt.Sprintf("on %s set signal.data.collection=%s", c.Name, firstNonEmpty(s.Table, "<schema>.debezium_signal")))
		return
	}
	db := r.alive[t.Source.Database]
	if db == nil {
		return
	}
	cols, err := columns(ctx, db, coll)
	if err != nil {
		return
	}
	if len(cols) == 0 {
		r.signalBroken(t, fmt.Sprintf("signal table %s of connector %s does not exist in database %s", coll, c.Name, db.Name()),
			signalTableDDL(db.Driver(), coll))
		return
	}
	if db.Driver() == config.DriverPostgres && c.Driver() == config.DriverPostgres {
		r.checkPublication(ctx, db, c, tableTarget(t.Name), coll, "signal table "+coll)
	}
}

// signalConnector is the connector a table's signal section names, on
// its cluster when it names one.
func (r *run) signalConnector(s *config.Signal) *connector {
	for _, c := range r.connectors {
		if c.Name == s.Connector && (s.ConnectCluster == "" || c.cluster == s.ConnectCluster) {
			return c
		}
	}
	return nil
}

// signalBroken reports why the table's repair cannot run.
func (r *run) signalBroken(t *config.Table, msg, fix string) {
	r.add(Finding{Check: CheckSignal, Severity: Error, Target: tableTarget(t.Name), Message: msg + ": repair cannot run", Fix: fix})
}

// checkSignalChannels checks that the connector reads signals where the
// table's signal section sends them: its signal table, or its Kafka
// topic under its topic prefix.
func (r *run) checkSignalChannels(t *config.Table, c *connector) {
	s, channels, coll := t.Signal, c.SignalChannels(), c.SignalTable()
	if s.Table != "" {
		if !channels["source"] {
			r.signalBroken(t, fmt.Sprintf("signals go to table %s but connector %s does not read the source channel (signal.enabled.channels=%s)", s.Table, c.Name, c.Get(connectorkind.KeySignalChannels, "source")),
				fmt.Sprintf("add source to signal.enabled.channels of %s", c.Name))
		}
		if coll != "" && !sameTable(coll, s.Table) {
			r.signalBroken(t, fmt.Sprintf("signals go to table %s but connector %s reads signals from %s", s.Table, c.Name, coll),
				fmt.Sprintf("set tables[].signal.table of %s to %s", t.Name, coll))
		}
	}
	if s.KafkaTopic == "" {
		return
	}
	if !channels["kafka"] {
		r.signalBroken(t, fmt.Sprintf("signals go to Kafka topic %s but connector %s does not read the kafka channel", s.KafkaTopic, c.Name),
			fmt.Sprintf("on %s set signal.enabled.channels=source,kafka and signal.kafka.topic=%s", c.Name, s.KafkaTopic))
	} else if kt := c.SignalKafkaTopic(); kt != "" && kt != s.KafkaTopic {
		r.signalBroken(t, fmt.Sprintf("signals go to Kafka topic %s but connector %s reads %s", s.KafkaTopic, c.Name, kt),
			fmt.Sprintf("set tables[].signal.kafka_topic of %s to %s", t.Name, kt))
	}
	if prefix := c.TopicPrefix(); prefix != "" && prefix != s.TopicPrefix {
		r.signalBroken(t, fmt.Sprintf("Kafka signals are keyed %q but connector %s has topic.prefix=%s and ignores them", s.TopicPrefix, c.Name, prefix),
			fmt.Sprintf("set tables[].signal.topic_prefix of %s to %s", t.Name, prefix))
	}
}

func sameTable(a, b string) bool {
	as, at := connectorkind.SplitTable("", a)
	bs, bt := connectorkind.SplitTable("", b)
	return strings.EqualFold(as, bs) && strings.EqualFold(at, bt)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// regexQuote writes a table name as a table.include.list entry.
func regexQuote(name string) string { return strings.ReplaceAll(name, ".", `\.`) }

func summarize(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// tablesSnippet is a starting point for the tables entries of db:table
// items.
func tablesSnippet(items []string) string {
	var b strings.Builder
	b.WriteString("tables:")
	for i, it := range items {
		if i == 5 {
			fmt.Fprintf(&b, "\n  # ... %d more", len(items)-5)
			break
		}
		db, table, _ := strings.Cut(it, ":")
		_, name := connectorkind.SplitTable("", table)
		fmt.Fprintf(&b, "\n  - name: %s\n    source: {database: %s, table: %s}\n    target: {database: <target>, table: %s}", name, db, table, name)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkDataCollection: Debezium ignores a snapshot signal for a data
// collection it does not capture, so a repair that names the table wrong
// (dbo.orders to the SQL Server source, which names it
// database.dbo.orders) re-sends nothing and reports success.
func (r *run) checkDataCollection(t *config.Table, c *connector) {
	db := r.d.Databases[t.Source.Database]
	k := c.Kind()
	if db == nil || !k.IsSource() {
		return
	}
	right := k.DataCollection(c.DatabaseNameFor(db), t.Source.Table)
	fix := fmt.Sprintf("set tables[].signal.data_collection of %s to %s", t.Name, right)
	bad := func(sev Severity, msg string) {
		r.add(Finding{Check: CheckSignal, Severity: sev, Target: tableTarget(t.Name), Message: msg, Fix: fix})
	}
	coll, err := connectorkind.SignalDataCollection(db.Driver(), db.Endpoint().Database, t.Source.Table, t.Signal.DataCollection)
	if err != nil {
		bad(Error, err.Error()+"; reconcile refuses the table until then")
		return
	}
	dbName, schema, table, ok := k.ParseDataCollection(coll)
	if !ok {
		bad(Error, fmt.Sprintf("repair signals name data collection %s, but the %s names tables %s: Debezium ignores the snapshot and the repair re-sends nothing", coll, k, k.DataCollectionFormat()))
		return
	}
	if dbName == "" {
		dbName = c.DatabaseNameFor(db)
	} else if names := c.DatabaseNames(); len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return connectorkind.SameName(db.Driver(), n, dbName) }) {
		bad(Error, fmt.Sprintf("repair signals name data collection %s in database %s, which connector %s does not capture (it reads %s): Debezium ignores the snapshot", coll, dbName, c.Name, strings.Join(names, ",")))
		return
	}
	if !c.Captures(dbName, schema, table) {
		bad(Error, fmt.Sprintf("repair signals name data collection %s, which connector %s does not capture (check its table.include.list): Debezium ignores the snapshot and the repair re-sends nothing", coll, c.Name))
		return
	}
	wantSchema, wantTable := connectorkind.SplitTable(db.Driver(), t.Source.Table)
	if !strings.EqualFold(schema, wantSchema) || !strings.EqualFold(table, wantTable) {
		bad(Warning, fmt.Sprintf("repair signals name data collection %s, not the table's source %s.%s: a repair would re-send another table's rows", coll, wantSchema, wantTable))
	}
}

// checkSinkTargets: a sink that reads the table's topic but names its
// target table differently (table.name.format on the Confluent sink,
// collection.name.format on Debezium's, which also turns the topic's dots
// into underscores) fills another table than the one lag, drift and
// repair watch. Skipped when a transform renames the topics.
func (r *run) checkSinkTargets(t *config.Table) {
	tgt := r.d.Databases[t.Target.Database]
	if tgt == nil {
		return
	}
	wantSchema, wantTable := connectorkind.SplitTable(tgt.Driver(), t.Target.Table)
	for _, c := range r.sinking(t) {
		if !c.Kind().IsJDBCSink() || c.RoutesTopics() {
			continue
		}
		for _, topic := range r.topicsOf(t) {
			table, ok := c.TargetTable(topic)
			if !c.Consumes(topic) || !ok {
				continue
			}
			// A name of three or more parts carries a catalog (the
			// database), which PostgreSQL does not accept from another
			// database: it is never the configured table.
			schema, name := connectorkind.SplitTable(tgt.Driver(), table)
			if strings.Count(table, ".") < 2 && strings.EqualFold(schema, wantSchema) && strings.EqualFold(name, wantTable) {
				continue
			}
			setting := c.TableFormatSetting()
			r.add(Finding{Check: CheckSinkConfig, Severity: Warning, Target: tableTarget(t.Name),
				Message: fmt.Sprintf("sink %s writes topic %s to table %s (%s=%s), not to tables[].target.table %s: lag, drift and repair watch a table the sink does not fill", c.Name, topic, table, setting, c.Get(setting, "${topic}"), t.Target.Table),
				Fix:     fmt.Sprintf("set %s of %s to %s (or route the topic to it), or set tables[].target.table of %s to %s", setting, c.Name, t.Target.Table, t.Name, table)})
		}
	}
}
