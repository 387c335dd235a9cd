package doctor

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/schemadrift"
)

// CheckSchemaDrift is a column that differs between a table's layers.
const CheckSchemaDrift = "schema-drift"

// checkSchemas compares each table's columns across its layers, as the
// schema check behind cdc_schema_mismatched_columns does, and gives one
// finding per column with its fix.
func (r *run) checkSchemas(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range r.d.Config.Tables {
		t := &r.d.Config.Tables[i]
		src, tgt := r.alive[t.Source.Database], r.alive[t.Target.Database]
		if src == nil || tgt == nil {
			continue // database-unreachable says why
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.checkSchema(ctx, t, src, tgt)
		}()
	}
	wg.Wait()
}

func (r *run) checkSchema(ctx context.Context, t *config.Table, src, tgt *database.DB) {
	st := schemadrift.Table{Name: t.Name, Source: src, Target: tgt, SourceTable: t.Source.Table, TargetTable: t.Target.Table,
		Scope: schemadrift.Scope{Columns: t.Columns, Ignore: t.IgnoreColumns, SinkMetadata: []string{t.WatermarkColumn, t.Target.DeletedColumn}}}
	if source := r.sourceOf(t); source != nil {
		st.Stream = func(ctx context.Context) (schemadrift.Stream, error) {
			s := schemadrift.Stream{Topic: source.TableTopic(src, t.Source.Table)}
			if u, ok := source.Unwrap(); ok {
				s.SinkMetadata = u.AddedFields()
			}
			var err error
			s.Fields, s.HasSchema, err = r.d.Topics.Fields(ctx, s.Topic)
			return s, err
		}
	}
	res := schemadrift.NewChecker([]schemadrift.Table{st}, schemadrift.Options{}).Check(ctx)[t.Name]
	if res.CheckedAt.IsZero() {
		r.add(Finding{Check: CheckSchemaDrift, Severity: Info, Target: tableTarget(t.Name),
			Message: "cannot compare the table's columns across its layers: " + errString(res.Err),
			Fix:     "grant the logins SELECT on information_schema.columns (and on the cdc schema for a SQL Server source)"})
		return
	}
	if res.Err != nil {
		r.add(Finding{Check: CheckSchemaDrift, Severity: Info, Target: tableTarget(t.Name),
			Message: "part of the schema check could not be read, left out: " + res.Err.Error(),
			Fix:     "check the kafka section (and kafka.schema_registry), and SELECT on cdc.change_tables and cdc.captured_columns for a SQL Server source"})
	}
	sinks := r.sinking(t)
	for _, m := range res.Mismatches {
		r.add(r.schemaFinding(t, src, tgt, res, m, sinks))
	}
}

func errString(err error) string {
	if err == nil {
		return "no result"
	}
	return err.Error()
}

// schemaFinding says what differs in one column and the exact change that
// makes the layers agree.
func (r *run) schemaFinding(t *config.Table, src, tgt *database.DB, res schemadrift.Result, m schemadrift.Mismatch, sinks []*connector) Finding {
	f := Finding{Check: CheckSchemaDrift, Severity: Warning, Target: tableTarget(t.Name)}
	sinkName, kind, evolution := "the sink", schemadrift.SinkDebezium, "schema.evolution=basic"
	if len(sinks) > 0 {
		sinkName, evolution = sinks[0].Name, sinks[0].SchemaEvolutionAdvice()
		if sinks[0].Kind().FlatRecords() {
			kind = schemadrift.SinkConfluent
		}
	}
	col := m.Column
	switch m.Kind {
	case schemadrift.MissingInTarget:
		typ := schemadrift.SinkType(*m.Source, kind, tgt.Driver())
		f.Message = fmt.Sprintf("source column %s (%s) is not in target table %s: a sink without schema evolution fails on the first record carrying it; drift and reconcile leave it out", col, m.Source.Type, t.Target.Table)
		f.Fix = fmt.Sprintf("%s, or let %s follow the source: set %s on it (then restart its failed task)", addColumn(tgt, t.Target.Table, col, typ), sinkName, evolution)
	case schemadrift.MissingInSource:
		f.Message = fmt.Sprintf("target column %s of %s is not in source table %s and is not sink metadata: dropped or renamed at the source, it is no longer written", col, t.Target.Table, t.Source.Table)
		f.Fix = fmt.Sprintf("once nothing reads it, ALTER TABLE %s DROP COLUMN %s; or list %s in tables[].ignore_columns of %s", tgt.QuoteTable(t.Target.Table), tgt.QuoteIdent(col), col, t.Name)
	case schemadrift.Type:
		typ := schemadrift.SinkType(*m.Source, kind, tgt.Driver())
		f.Message = fmt.Sprintf("column %s: %s; drift and reconcile leave it out", col, m.Detail)
		f.Fix = alterType(tgt, t.Target.Table, col, typ)
	case schemadrift.NotCaptured:
		f.Severity = Error
		f.Message = fmt.Sprintf("source column %s is not in capture instance %s of %s: SQL Server captures only the columns an instance was created with, so its changes never reach Kafka", col, res.CaptureInstance, t.Source.Table)
		f.Fix = captureSwitch(src, t.Source.Table, res, sourceName(r.sourceOf(t)))
	case schemadrift.NotInTopic:
		f.Severity = Info
		f.Message = fmt.Sprintf("captured column %s is not in the value schema of topic %s yet: it appears with the next change that carries it", col, res.TopicName)
		f.Fix = fmt.Sprintf("nothing, if a change of %s follows; if the source connector leaves it out on purpose (column.exclude.list), list %s in tables[].ignore_columns of %s", t.Source.Table, col, t.Name)
	}
	return f
}

func sourceName(c *connector) string {
	if c == nil {
		return "the source connector"
	}
	return c.Name
}

func addColumn(db *database.DB, table, col, typ string) string {
	if db.Driver() == config.DriverSQLServer {
		return fmt.Sprintf("ALTER TABLE %s ADD %s %s NULL;", db.QuoteTable(table), db.QuoteIdent(col), typ)
	}
	return fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s;", db.QuoteTable(table), db.QuoteIdent(col), typ)
}

func alterType(db *database.DB, table, col, typ string) string {
	if db.Driver() == config.DriverSQLServer {
		return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s %s;", db.QuoteTable(table), db.QuoteIdent(col), typ)
	}
	return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s;", db.QuoteTable(table), db.QuoteIdent(col), typ)
}

// captureSwitch is Debezium's online schema update of a SQL Server table:
// a second capture instance with the old columns and the new, Debezium moves to it by
// itself once it reaches the instance's first change, then the old one is
// dropped. A table has at most two capture instances.
func captureSwitch(db *database.DB, table string, res schemadrift.Result, source string) string {
	schema, name := connectorkind.SplitTable(config.DriverSQLServer, table)
	next := nextInstance(res.CaptureInstance)
	lit := func(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }
	cols := append([]string{}, res.CapturedColumns...)
	cols = append(cols, res.Columns(schemadrift.NotCaptured)...)
	for i, c := range cols {
		cols[i] = db.QuoteIdent(c)
	}
	return fmt.Sprintf("create a second capture instance with the new column list, "+
		"EXEC sys.sp_cdc_enable_table @source_schema = %s, @source_name = %s, @role_name = NULL, @capture_instance = %s, @captured_column_list = %s; "+
		"(@role_name as the old instance has it: EXEC sys.sp_cdc_help_change_data_capture %s, %s), "+
		"wait until %s streams from it (Debezium moves by itself once its position passes SELECT start_lsn FROM cdc.change_tables WHERE capture_instance = %s), "+
		"then drop the old one: EXEC sys.sp_cdc_disable_table @source_schema = %s, @source_name = %s, @capture_instance = %s;",
		lit(schema), lit(name), lit(next), lit(strings.Join(cols, ", ")), lit(schema), lit(name), source, lit(next), lit(schema), lit(name), lit(res.CaptureInstance))
}

// nextInstance names the capture instance that replaces ci: ci_v2, then
// ci_v3 and so on.
func nextInstance(ci string) string {
	if i := strings.LastIndex(ci, "_v"); i >= 0 {
		var n int
		if _, err := fmt.Sscanf(ci[i+2:], "%d", &n); err == nil && fmt.Sprint(n) == ci[i+2:] {
			return fmt.Sprintf("%s_v%d", ci[:i], n+1)
		}
	}
	return ci + "_v2"
}
