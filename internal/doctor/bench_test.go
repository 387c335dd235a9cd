package doctor

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// BenchmarkCoverage measures the table/connector matching of a large
// pipeline: 1,000 configured tables, 50 sources with 20 include-list
// entries each, and 50 sinks with a topics.regex each.
func BenchmarkCoverage(b *testing.B) {
	cfg := &config.Config{}
	var conns []connect.Connector
	for s := 0; s < 50; s++ {
		var inc, names []string
		for i := 0; i < 20; i++ {
			n := fmt.Sprintf("t%d_%d", s, i)
			inc = append(inc, `inv\.`+n)
			names = append(names, n)
			cfg.Tables = append(cfg.Tables, config.Table{Name: n, Source: config.TableRef{Database: "src", Table: "inv." + n}, Target: config.TableRef{Database: "dst", Table: n}})
		}
		conns = append(conns,
			conn(fmt.Sprintf("src%d", s), connect.TypeSource, map[string]string{"connector.class": connectorkind.ClassPostgres, "database.dbname": "app", "topic.prefix": "p",
				"table.include.list": strings.Join(inc, ","), "heartbeat.interval.ms": "1", "signal.data.collection": "inv.sig"}),
			conn(fmt.Sprintf("sink%d", s), connect.TypeSink, map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics.regex": `p\.inv\.(` + strings.Join(names, "|") + `)`,
				"connection.url": "jdbc:postgresql://pg:5432/wh", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": "d",
				"collection.name.format": "${source.table}"}))
	}
	dbs := map[string]*database.DB{}
	for name, dsn := range map[string]string{"src": "postgres://u:p@pg:5432/app", "dst": "postgres://u:p@pg:5432/wh"} {
		db, err := database.Open(context.Background(), config.Database{Name: name, Driver: config.DriverPostgres, DSN: config.Secret(dsn), MaxOpenConns: 1})
		if err != nil {
			b.Fatal(err)
		}
		dbs[name] = db
	}
	d := &Doctor{Config: cfg, Databases: dbs, Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: conns}}}}
	b.ResetTimer()
	for b.Loop() {
		r := &run{d: d, alive: map[string]*database.DB{}, tablesOf: map[string][]schemaTable{}}
		r.loadConnectors(context.Background())
		r.checkCoverage(context.Background())
		if len(r.findings) != 0 {
			b.Fatalf("findings on a covered pipeline: %+v", r.findings[0])
		}
	}
}
