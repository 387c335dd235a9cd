package doctor

import (
	"context"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// A sink that reads the table's topic but names its target table after
// the whole topic fills another table than the one lag, drift and repair
// watch.
func TestSinkTargetTable(t *testing.T) {
	cfg := postgresPair(t)
	dbs := openDatabases(t, cfg)
	source := conn("src", connect.TypeSource, map[string]string{"connector.class": connectorkind.ClassPostgres, "database.dbname": "source", "database.port": "1", "topic.prefix": "p"})
	sink := func(settings ...string) connect.Connector {
		m := map[string]string{"topics": "p.public.orders", "connection.url": "jdbc:postgresql://127.0.0.1:1/wh"}
		for i := 0; i < len(settings); i += 2 {
			m[settings[i]] = settings[i+1]
		}
		return conn("sink", connect.TypeSink, m)
	}
	for _, tc := range []struct {
		name string
		sink connect.Connector
		want string // "" when no finding
	}{
		{"Confluent, table named after the topic", sink("connector.class", connectorkind.ClassConfluentJDBC),
			"sink sink writes topic p.public.orders to table p.public.orders (table.name.format=${topic}), not to tables[].target.table public.orders"},
		{"Confluent, routed", sink("connector.class", connectorkind.ClassConfluentJDBC, "transforms", "route", "transforms.route.type", connectorkind.TransformRegexRouter), ""},
		{"Confluent, table.name.format", sink("connector.class", connectorkind.ClassConfluentJDBC, "table.name.format", "orders"), ""},
		{"Debezium, dots become underscores", sink("connector.class", connectorkind.ClassDebeziumJDBC),
			"writes topic p.public.orders to table p_public_orders (collection.name.format=${topic})"},
		{"Debezium, collection.name.format", sink("connector.class", connectorkind.ClassDebeziumJDBC, "collection.name.format", "public.orders"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Doctor{Config: cfg, Databases: dbs, Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{source, tc.sink}}}}}
			r := d.Run(context.Background())
			if tc.want == "" {
				for _, f := range find(r, CheckSinkConfig, "table:orders") {
					t.Errorf("unexpected finding %+v", f)
				}
				return
			}
			mustFind(t, r, CheckSinkConfig, "table:orders", Warning, tc.want, "or set tables[].target.table of orders to")
		})
	}
}

// postgresPair is one table, orders, from a PostgreSQL source database
// (src, named source) to a PostgreSQL warehouse (wh), with one Connect
// cluster.
func postgresPair(t *testing.T) *config.Config {
	return mustParse(t, `connect_clusters: [{name: c, url: 'http://x:8083'}]
databases:
  - {name: src, driver: postgres, dsn: 'postgres://u:p@127.0.0.1:1/source'}
  - {name: wh, driver: postgres, dsn: 'postgres://u:p@127.0.0.1:1/wh'}
tables:
  - {name: orders, source: {database: src, table: public.orders}, target: {database: wh, table: public.orders}}
`)
}
