package doctor

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// A target that lacks a source column, keeps one the source dropped and
// holds two in lossy types gets one schema-drift finding per column,
// each with the change that fixes it for the sink reading the table.
func TestPipelineSchemaDriftFindings(t *testing.T) {
	e := newPipelineEnv(t)
	schema, pub, prefix := "it_schema_"+e.id, "it_schema_pub_"+e.id, "itschema"+e.id
	name := func(s string) string { return "it-schema-" + e.id + "-" + s }
	target := "it_schema_" + e.id + "_orders"
	e.cleanup(t, e.source, "DROP SCHEMA IF EXISTS "+schema+" CASCADE", "DROP PUBLICATION IF EXISTS "+pub)
	e.exec(t, e.source, "CREATE SCHEMA "+schema,
		"CREATE TABLE "+schema+".orders (id int PRIMARY KEY, name text, amount numeric(12,2), added timestamp(3))",
		fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s.orders", pub, schema))
	e.cleanup(t, e.target, "DROP TABLE IF EXISTS "+target)
	e.exec(t, e.target, "CREATE TABLE "+target+" (id int PRIMARY KEY, name varchar(5), amount integer, legacy text, __source_ts_ms bigint)")
	e.createStopped(t, name("src"), map[string]string{
		"connector.class": connectorkind.ClassPostgres, "plugin.name": "pgoutput",
		"database.hostname": "127.0.0.1", "database.port": e.pgPort, "database.user": "cdc", "database.password": "cdc", "database.dbname": "source",
		"topic.prefix": prefix, "slot.name": "it_schema_never_" + e.id, "publication.name": pub, "publication.autocreate.mode": "disabled",
		"table.include.list": schema + `\.orders`,
	})
	e.createStopped(t, name("sink"), map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": prefix + "." + schema + ".orders",
		"connection.url": "jdbc:postgresql://127.0.0.1:" + e.pgPort + "/target", "connection.username": "cdc", "connection.password": "cdc",
		"collection.name.format": target})
	d, _ := e.doctor(t, e.baseYAML()+fmt.Sprintf(`databases:
  - {name: source, driver: postgres, dsn: %q}
  - {name: target, driver: postgres, dsn: %q}
tables:
  - {name: orders, source: {database: source, table: %s.orders}, target: {database: target, table: public.%s}}
`, e.p.SourceDSN, e.p.TargetDSN, schema, target))
	r := d.Run(context.Background())
	var got []string
	for _, f := range find(r, CheckSchemaDrift, "table:orders") {
		got = append(got, f.Severity.String()+": "+f.Message+" | fix: "+f.Fix)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`warning: source column added (timestamp without time zone) is not in target table public.` + target,
		`ALTER TABLE "public"."` + target + `" ADD COLUMN "added" timestamp(3);, or let ` + name("sink") + ` follow the source: set schema.evolution=basic`,
		`warning: target column legacy of public.` + target + ` is not in source table`,
		`warning: column name: text into character varying(5)`,
		`ALTER TABLE "public"."` + target + `" ALTER COLUMN "name" TYPE text;`,
		`warning: column amount: numeric(12,2) into integer: the fraction is lost`,
		`ALTER TABLE "public"."` + target + `" ALTER COLUMN "amount" TYPE numeric(12,2);`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no schema-drift finding says %q; got:\n%s", want, all)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d schema-drift findings, want 4 (added, legacy, name, amount):\n%s", len(got), all)
	}
}
