package doctor

import (
	"context"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// orders is the table of sqlServerPathDoctor, with no filter.
const orders = "source: {database: shop, table: dbo.orders}, target: {database: wh, table: public.orders}"

// sqlServerPathDoctor runs doctor over a SQL Server source table
// (orders, table being its settings) replicated by one source and one
// sink to PostgreSQL, with extra connector settings.
func sqlServerPathDoctor(t *testing.T, table string, source, sink map[string]string) Report {
	t.Helper()
	cfg := mustParse(t, `connect_clusters: [{name: c, url: 'http://x:8083'}]
databases:
  - {name: shop, driver: sqlserver, dsn: 'sqlserver://u:p@127.0.0.1:1?database=shop'}
  - {name: wh, driver: postgres, dsn: 'postgres://u:p@127.0.0.1:1/wh'}
tables:
  - {name: orders, `+table+`}
`)
	src := map[string]string{"connector.class": connectorkind.ClassSQLServer, "database.names": "shop", "database.port": "1", "topic.prefix": "p"}
	for k, v := range source {
		src[k] = v
	}
	snk := map[string]string{"connector.class": connectorkind.ClassConfluentJDBC, "topics": "p.shop.dbo.orders",
		"connection.url": "jdbc:postgresql://127.0.0.1:1/wh", "table.name.format": "orders"}
	for k, v := range sink {
		snk[k] = v
	}
	d := &Doctor{Config: cfg, Databases: openDatabases(t, cfg), Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{
		conn("src", connect.TypeSource, src), conn("sink", connect.TypeSink, snk)}}}}}
	return d.Run(context.Background())
}

// A sink writing in another zone than UTC shifts every temporal value:
// refused as an error naming the setting of that sink; UTC under any of
// its names is fine.
func TestSinkTimeZoneMustBeUTC(t *testing.T) {
	for _, tc := range []struct {
		name string
		sink map[string]string
		want string
	}{
		{"Confluent default", nil, ""},
		{"Confluent Etc/UTC", map[string]string{"db.timezone": "Etc/UTC"}, ""},
		{"Confluent Europe/Paris", map[string]string{"db.timezone": "Europe/Paris"}, "sink sink writes temporal values in time zone Europe/Paris (db.timezone=Europe/Paris)"},
		{"Debezium America/New_York", map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "collection.name.format": "public.orders", "database.time_zone": "America/New_York"},
			"(database.time_zone=America/New_York)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sqlServerPathDoctor(t, orders, nil, tc.sink)
			if tc.want == "" {
				for _, f := range find(r, CheckSinkConfig, "table:orders") {
					t.Errorf("unexpected finding %+v", f)
				}
				return
			}
			mustFind(t, r, CheckSinkConfig, "table:orders", Error, tc.want, "=UTC on sink sink")
		})
	}
}

// From a PostgreSQL source the same sink is a warning: drift and
// reconcile compare the timestamps converted into the sink's zone, and
// leave only the times of day out.
func TestSinkTimeZoneFromAPostgreSQLSourceIsAWarning(t *testing.T) {
	cfg := postgresPair(t)
	src := map[string]string{"connector.class": connectorkind.ClassPostgres, "database.dbname": "source", "database.port": "1", "topic.prefix": "p", "table.include.list": "public.orders"}
	snk := map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "p.public.orders",
		"connection.url": "jdbc:postgresql://127.0.0.1:1/wh", "collection.name.format": "public.orders", "database.time_zone": "Europe/Paris"}
	d := &Doctor{Config: cfg, Databases: openDatabases(t, cfg), Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{
		conn("src", connect.TypeSource, src), conn("sink", connect.TypeSink, snk)}}}}}
	r := d.Run(context.Background())
	mustFind(t, r, CheckSinkConfig, "table:orders", Warning, "compare the source's timestamp columns converted into that zone", "database.time_zone=UTC on sink sink")
}

// source.timestamp.mode=processing stamps changes with Debezium's read
// time: lag would leave out the capture latency.
func TestSourceTimestampModeProcessing(t *testing.T) {
	r := sqlServerPathDoctor(t, orders, map[string]string{"source.timestamp.mode": "processing"}, nil)
	mustFind(t, r, CheckSinkConfig, "table:orders", Warning, "source src has source.timestamp.mode=processing", "remove source.timestamp.mode from src")
	r = sqlServerPathDoctor(t, orders, map[string]string{"source.timestamp.mode": "commit"}, nil)
	mustNotFind(t, r, CheckSinkConfig, "table:orders")
}

// A filter shared by a SQL Server source and a PostgreSQL target that
// compares text selects different rows on each (case-insensitive
// collation against bytes); per-side filters, or one on numbers, do not.
func TestSharedTextFilterAcrossEngines(t *testing.T) {
	r := sqlServerPathDoctor(t, orders+`, filter: "region = 'eu'"`, nil, nil)
	mustFind(t, r, CheckSinkConfig, "table:orders", Warning, `filter "region = 'eu'" is applied to both sides, but it compares text`, "source.filter and target.filter")
	for _, extra := range []string{
		orders + `, filter: "id > 100"`,
		`source: {database: shop, table: dbo.orders, filter: "region COLLATE Latin1_General_100_BIN2 = 'eu'"}, target: {database: wh, table: public.orders, filter: "region = 'eu'"}`,
	} {
		r := sqlServerPathDoctor(t, extra, nil, nil)
		for _, f := range find(r, CheckSinkConfig, "table:orders") {
			t.Errorf("%s: unexpected finding %+v", extra, f)
		}
	}
}
