package doctor

import (
	"context"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// Slot states that cannot be produced on the local pipeline without
// exhausting its disk (wal_status unreserved and lost) are tested against
// the driver with go-sqlmock, with the query the lag collector also uses.
func TestReplicationSlotStates(t *testing.T) {
	cfg := mustParse(t, `connect_clusters: [{name: c, url: 'http://x:8083'}]
databases: [{name: src, driver: postgres, dsn: 'postgres://u:p@pg:5432/app', connectors: [app-src]}]
`)
	pool, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cols := []string{"slot_name", "slot_type", "plugin", "active", "position", "confirmed", "retained", "wal_status", "safe_wal_size"}
	mock.ExpectQuery(database.SlotsQuery).WillReturnRows(sqlmock.NewRows(cols).
		AddRow("gone", "logical", "pgoutput", false, "1/3B9ACA00", "1/0", 5e9, "lost", nil).
		AddRow("edge", "logical", "pgoutput", true, "1/3B9ACA00", "1/0", 3e9, "unreserved", -1e6).
		AddRow("idle", "logical", "pgoutput", false, "1/3B9ACA00", "1/3B9AC9F6", 2048.0, "reserved", 1e9).
		AddRow("fine", "logical", "pgoutput", true, "1/3B9ACA00", "1/3B9ACA00", 100.0, "reserved", 1e9))
	db := database.NewWithPool(cfg.Databases[0], pool)
	owner := conn("app-src", connect.TypeSource, map[string]string{"connector.class": connectorkind.ClassPostgres, "database.dbname": "app", "slot.name": "idle",
		"heartbeat.interval.ms": "1000", "signal.data.collection": "public.sig"})
	d := &Doctor{Config: cfg, Databases: map[string]*database.DB{"src": db},
		Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{owner}}}}}
	r := d.Run(context.Background())
	mustFind(t, r, CheckReplicationSlot, "database:src/gone", Error, "wal_status=lost", "SELECT pg_drop_replication_slot('gone');")
	mustFind(t, r, CheckReplicationSlot, "database:src/edge", Error, "wal_status=unreserved", "max_slot_wal_keep_size")
	mustFind(t, r, CheckReplicationSlot, "database:src/idle", Warning, "(2.0 KiB retained now); it is the slot of connector app-src", "get app-src running")
	mustNotFind(t, r, CheckReplicationSlot, "database:src/fine")
}

func TestSignalMismatches(t *testing.T) {
	base := map[string]string{"connector.class": connectorkind.ClassPostgres, "database.dbname": "app", "topic.prefix": "app",
		"heartbeat.interval.ms": "1000", "signal.data.collection": "public.sig"}
	with := func(kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []struct {
		name     string
		signal   string
		cfg      map[string]string
		msg, fix string
	}{
		{"signal connector missing", "{connector: nope, table: public.sig}", base, "signal connector nope does not exist", "tables[].signal.connector of orders"},
		{"different signal table", "{connector: src, table: public.other}", base, "reads signals from public.sig", "tables[].signal.table of orders to public.sig"},
		{"source channel off", "{connector: src, table: public.sig}", with("signal.enabled.channels", "kafka"), "does not read the source channel", "add source to signal.enabled.channels"},
		{"kafka channel off", "{connector: src, kafka_topic: app-signal, topic_prefix: app}", base, "does not read the kafka channel", "signal.enabled.channels=source,kafka and signal.kafka.topic=app-signal"},
		{"kafka topic differs", "{connector: src, kafka_topic: app-signal, topic_prefix: app}", with("signal.enabled.channels", "source,kafka", "signal.kafka.topic", "other"), "reads other", "kafka_topic of orders to other"},
		{"kafka key differs from topic.prefix", "{connector: src, kafka_topic: s, topic_prefix: wrong}", with("signal.enabled.channels", "source,kafka", "signal.kafka.topic", "s"), `keyed "wrong" but connector src has topic.prefix=app`, "topic_prefix of orders to app"},
		{"kafka signals still need the signal table", "{connector: src, kafka_topic: s, topic_prefix: app}", with("signal.enabled.channels", "kafka", "signal.kafka.topic", "s", "signal.data.collection", ""), "has no signal.data.collection", "signal.data.collection=<schema>.debezium_signal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := doctorOnSignal(t, tc.signal, tc.cfg)
			mustFind(t, r, CheckSignal, "table:orders", Error, tc.msg, tc.fix)
		})
	}
}

// doctorOnSignal runs doctor on one table "orders" whose signal section
// is signal, captured by the source "src" configured as cfg.
func doctorOnSignal(t *testing.T, signal string, cfg map[string]string) Report {
	t.Helper()
	c := mustParse(t, `connect_clusters: [{name: c, url: 'http://x:8083'}]
kafka: {brokers: ['k:9092']}
databases: [{name: a, driver: postgres, dsn: 'postgres://u:p@pg:5432/app'}, {name: b, driver: postgres, dsn: 'postgres://u:p@pg:5432/wh'}]
tables:
  - {name: orders, source: {database: a, table: public.orders}, target: {database: b, table: orders}, signal: `+signal+`}
`)
	d := &Doctor{Config: c, Clusters: []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{conn("src", connect.TypeSource, cfg)}}}}}
	return d.Run(context.Background())
}

// A table's notification_topic must be the topic its connector writes
// notifications to; left out, the connector's own is read.
func TestNotificationTopicMismatches(t *testing.T) {
	base := map[string]string{"connector.class": connectorkind.ClassPostgres, "database.dbname": "app", "topic.prefix": "app",
		"heartbeat.interval.ms": "1000", "signal.data.collection": "public.sig"}
	sink := map[string]string{"notification.enabled.channels": "sink", "notification.sink.topic.name": "app.notifications"}
	for k, v := range base {
		sink[k] = v
	}
	cases := []struct {
		name, signal string
		cfg          map[string]string
		msg, fix     string
	}{
		{"channel off", "{connector: src, table: public.sig, notification_topic: app.notifications}", base,
			"connector src sends no notifications to Kafka", "notification.enabled.channels=sink and notification.sink.topic.name=app.notifications"},
		{"other topic", "{connector: src, table: public.sig, notification_topic: wrong}", sink,
			"writes its notifications to app.notifications", "notification_topic of orders to app.notifications"},
		{"same topic", "{connector: src, table: public.sig, notification_topic: app.notifications}", sink, "", ""},
		{"left out", "{connector: src, table: public.sig}", base, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := doctorOnSignal(t, tc.signal, tc.cfg)
			if tc.msg == "" {
				mustNotFind(t, r, CheckNotification, "table:orders")
				return
			}
			mustFind(t, r, CheckNotification, "table:orders", Warning, tc.msg, tc.fix)
		})
	}
}
