package sqldialect

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect/connecttest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/kafka"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// proofColumn is one SQL Server column of the proof table: its type as
// the catalog describes it, the Kafka Connect schema the Debezium SQL
// Server connector gives it under one time.precision.mode and
// decimal.handling.mode, and how a Go value of it is put in an event.
type proofColumn struct {
	col    Column
	schema map[string]any
	event  func(v rowhash.Value) any
}

func decimalSchema(p, s int) map[string]any {
	return map[string]any{"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
		"parameters": map[string]string{"scale": fmt.Sprint(s), "connect.decimal.precision": fmt.Sprint(p)}}
}

// decimalBytes is Kafka Connect's Decimal: the unscaled value, big-endian
// two's complement, base64 in JSON.
func decimalBytes(s string, scale int) any {
	r, _ := new(big.Rat).SetString(s)
	u := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	u.Quo(u, r.Denom())
	var b []byte
	if u.Sign() >= 0 {
		b = append([]byte{0}, u.Bytes()...)
	} else {
		// two's complement of a negative number
		n := len(u.Bytes()) + 1
		m := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(8*n)), u)
		b = m.FillBytes(make([]byte, n))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// proofMode is one source connector configuration.
type proofMode struct{ time, decimal string }

// decimalColumn: decimal.handling.mode precise sends Kafka Connect's
// Decimal, string its plain text, double a float64.
func decimalColumn(c Column, mode string, p, sc int) proofColumn {
	switch mode {
	case "string":
		return proofColumn{c, map[string]any{"type": "string", "optional": true}, func(v rowhash.Value) any { return v }}
	case "double":
		return proofColumn{c, map[string]any{"type": "double", "optional": true}, func(v rowhash.Value) any {
			f, _ := new(big.Rat).SetString(v.(string))
			x, _ := f.Float64()
			return x
		}}
	}
	return proofColumn{c, decimalSchema(p, sc), func(v rowhash.Value) any { return decimalBytes(v.(string), sc) }}
}

// timestampColumn: adaptive sends io.debezium.time.Timestamp (ms) up to
// three digits, NanoTimestamp for seven; connect sends Kafka Connect's
// Timestamp, whole milliseconds truncated (java.util.Date).
func timestampColumn(c Column, mode string) proofColumn {
	floorMillis := func(v rowhash.Value) any { t := v.(time.Time); return t.Unix()*1000 + int64(t.Nanosecond())/1e6 }
	switch {
	case mode == ModeConnect:
		return proofColumn{c, map[string]any{"type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1}, floorMillis}
	case c.Scale > 3:
		return proofColumn{c, map[string]any{"type": "int64", "optional": true, "name": "io.debezium.time.NanoTimestamp", "version": 1},
			func(v rowhash.Value) any { return v.(time.Time).UnixNano() }}
	}
	return proofColumn{c, map[string]any{"type": "int64", "optional": true, "name": "io.debezium.time.Timestamp", "version": 1}, floorMillis}
}

// timeColumn: adaptive sends io.debezium.time.NanoTime for time(7);
// adaptive_time_microseconds sends io.debezium.time.MicroTime whatever
// the scale, the nanoseconds divided by 1,000 (truncated: Debezium's
// MicroTime.toMicroOfDay); connect sends Kafka Connect's Time (ms).
func timeColumn(c Column, mode string) proofColumn {
	switch mode {
	case ModeConnect:
		return proofColumn{c, map[string]any{"type": "int32", "optional": true, "name": "org.apache.kafka.connect.data.Time", "version": 1},
			func(v rowhash.Value) any { return v.(time.Duration).Milliseconds() }}
	case ModeAdaptiveMicros:
		return proofColumn{c, map[string]any{"type": "int64", "optional": true, "name": "io.debezium.time.MicroTime", "version": 1},
			func(v rowhash.Value) any { return v.(time.Duration).Microseconds() }}
	}
	return proofColumn{c, map[string]any{"type": "int64", "optional": true, "name": "io.debezium.time.NanoTime", "version": 1},
		func(v rowhash.Value) any { return v.(time.Duration).Nanoseconds() }}
}

func dateName(mode string) string {
	if mode == ModeConnect {
		return "org.apache.kafka.connect.data.Date"
	}
	return "io.debezium.time.Date"
}

func proofColumns(m proofMode) []proofColumn {
	str := map[string]any{"type": "string", "optional": true}
	ss := func(name, typ string, scale int) Column {
		k, err := SQLServer{}.KindOf(typ)
		if err != nil {
			panic(err)
		}
		return Column{Name: name, Type: typ, Scale: scale, Kind: k}
	}
	same := func(v rowhash.Value) any { return v }
	return []proofColumn{
		// char(n) arrives padded, as Debezium reads it.
		{ss("c_char", "char", -1), str, func(v rowhash.Value) any { return fmt.Sprintf("%-6s", v) }},
		{ss("c_varchar", "varchar", -1), str, same},
		{ss("c_nvarchar", "nvarchar", -1), str, same},
		{ss("c_bit", "bit", -1), map[string]any{"type": "boolean", "optional": true}, same},
		decimalColumn(ss("c_dec", "decimal", -1), m.decimal, 12, 3),
		decimalColumn(ss("c_money", "money", -1), m.decimal, 19, 4),
		timestampColumn(ss("c_dt2", "datetime2", 7), m.time),
		timestampColumn(ss("c_dt", "datetime", 3), m.time),
		{ss("c_dto", "datetimeoffset", 7), map[string]any{"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "version": 1},
			func(v rowhash.Value) any { return v.(time.Time).UTC().Format("2006-01-02T15:04:05.9999999Z07:00") }},
		{ss("c_date", "date", 0), map[string]any{"type": "int32", "optional": true, "name": dateName(m.time), "version": 1},
			func(v rowhash.Value) any { return v.(time.Time).Unix() / 86400 }},
		timeColumn(ss("c_time", "time", 7), m.time),
		{ss("c_uuid", "uniqueidentifier", -1), str, same},
		{ss("c_bin", "varbinary", -1), map[string]any{"type": "bytes", "optional": true},
			func(v rowhash.Value) any { return base64.StdEncoding.EncodeToString(v.([]byte)) }},
	}
}

// proofRows are the edge values, one row each (nil is NULL); the
// values are those the SQL Server source holds.
func proofRows() [][]rowhash.Value {
	utc := time.UTC
	return [][]rowhash.Value{
		{"ab", "café €", "漢字 😀", true, "-12345.678", "-922337203685477.5808",
			time.Date(2024, 3, 31, 1, 59, 59, 999_999_700, utc), time.Date(2024, 1, 2, 3, 4, 5, 997_000_000, utc),
			time.Date(2024, 1, 2, 3, 4, 5, 123_456_700, time.FixedZone("", 5*3600+1800)), time.Date(2024, 2, 29, 0, 0, 0, 0, utc),
			23*time.Hour + 59*time.Minute + 59*time.Second + 999_999_900, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", []byte{0, 0xff, 0x10}},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{"      ", "", "a  ", false, "0.001", "0.0001",
			// NanoTimestamp holds 1677-09-22 .. 2262-04-11 only.
			time.Date(1677, 9, 22, 0, 12, 43, 145_224_300, utc), time.Date(1753, 1, 1, 0, 0, 0, 0, utc),
			time.Date(1, 1, 2, 0, 0, 0, 100, time.FixedZone("", -14*3600)), time.Date(1, 1, 1, 0, 0, 0, 0, utc),
			time.Duration(0), "00000000-0000-0000-0000-000000000000", []byte{}},
		{"x y   ", " lead", "\u00e9\u0301|N:", true, "999999999.999", "922337203685477.5807",
			time.Date(2262, 4, 11, 23, 47, 16, 854_775_800, utc), time.Date(9999, 12, 31, 23, 59, 59, 997_000_000, utc),
			time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.FixedZone("", 0)), time.Date(9999, 12, 31, 0, 0, 0, 0, utc),
			500 * time.Nanosecond, "ffffffff-ffff-ffff-ffff-ffffffffffff", []byte("|N")},
	}
}

// TestSQLServerEventsThroughTheRealSink writes change events exactly as
// the Debezium SQL Server connector emits them (envelope, source block,
// Connect JSON schemas with io.debezium.time.* and Decimal types) into
// the real Kafka, lets the real Debezium JDBC sink write them to the real
// PostgreSQL, and checks that the Go reference encoding of each SQL
// Server value equals what cdc-sentinel computes on the PostgreSQL row.
func TestSQLServerEventsThroughTheRealSink(t *testing.T) {
	for _, m := range []proofMode{{ModeAdaptive, "precise"}, {ModeAdaptiveMicros, "precise"}, {ModeConnect, "string"}, {ModeAdaptive, "double"}} {
		t.Run(m.time+"/"+m.decimal, func(t *testing.T) { proveThroughSink(t, m) })
	}
}

func proveThroughSink(t *testing.T, m proofMode) {
	p := testenv.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name := fmt.Sprintf("rowhash-proof-%d", time.Now().UnixNano())
	topic := "sqlsrv." + name
	table := strings.ReplaceAll(name, "-", "_")
	kc, err := kafka.New(config.Kafka{Brokers: strings.Split(p.KafkaBrokers, ",")})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	cc := connecttest.Local(t, p)
	db := p.TargetDB(t)
	cleanup := func() {
		_ = cc.Delete(context.Background(), name)
		kadm.NewClient(kc.Kgo()).DeleteTopics(context.Background(), topic)
		db.Exec(`DROP TABLE IF EXISTS ` + table)
	}
	t.Cleanup(cleanup)

	cols := proofColumns(m)
	fields := []map[string]any{{"field": "id", "type": "int32", "optional": false}}
	for _, c := range cols {
		f := map[string]any{"field": c.col.Name}
		for k, v := range c.schema {
			f[k] = v
		}
		fields = append(fields, f)
	}
	row := map[string]any{"type": "struct", "optional": true, "name": "sqlsrv.inventory.dbo.proof.Value", "fields": fields}
	source := map[string]any{"type": "struct", "optional": false, "name": "io.debezium.connector.sqlserver.Source", "fields": []map[string]any{
		{"field": "version", "type": "string", "optional": false}, {"field": "connector", "type": "string", "optional": false},
		{"field": "name", "type": "string", "optional": false}, {"field": "ts_ms", "type": "int64", "optional": false},
		{"field": "snapshot", "type": "string", "optional": true}, {"field": "db", "type": "string", "optional": false},
		{"field": "schema", "type": "string", "optional": false}, {"field": "table", "type": "string", "optional": false},
		{"field": "change_lsn", "type": "string", "optional": true}, {"field": "commit_lsn", "type": "string", "optional": true},
		{"field": "event_serial_no", "type": "int64", "optional": true},
	}}
	envelope := map[string]any{"type": "struct", "optional": false, "name": "sqlsrv.inventory.dbo.proof.Envelope", "version": 1, "fields": []map[string]any{
		withField(row, "before"), withField(row, "after"), withField(source, "source"),
		{"field": "op", "type": "string", "optional": false}, {"field": "ts_ms", "type": "int64", "optional": true},
	}}
	keySchema := map[string]any{"type": "struct", "optional": false, "name": "sqlsrv.inventory.dbo.proof.Key",
		"fields": []map[string]any{{"field": "id", "type": "int32", "optional": false}}}
	rows := proofRows()
	var recs []*kgo.Record
	for i, r := range rows {
		after := map[string]any{"id": i + 1}
		for j, c := range cols {
			if r[j] == nil {
				after[c.col.Name] = nil
			} else {
				after[c.col.Name] = c.event(r[j])
			}
		}
		src := map[string]any{"version": "3.6.1.Final", "connector": "sqlserver", "name": "sqlsrv", "ts_ms": 1700000000000,
			"snapshot": "false", "db": "inventory", "schema": "dbo", "table": "proof",
			"change_lsn": fmt.Sprintf("0000002b:000002e3:%04x", i+2), "commit_lsn": "0000002b:000002e3:0001", "event_serial_no": 1}
		key, _ := json.Marshal(map[string]any{"schema": keySchema, "payload": map[string]any{"id": i + 1}})
		val, err := json.Marshal(map[string]any{"schema": envelope, "payload": map[string]any{
			"before": nil, "after": after, "source": src, "op": "c", "ts_ms": 1700000000123}})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: key, Value: val})
	}
	if _, err := kadm.NewClient(kc.Kgo()).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if err := kc.Kgo().ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg := p.JDBCSink(topic, table)
	cfg["schema.evolution"] = "basic"
	if _, err := cc.PutConfig(ctx, name, cfg); err != nil {
		t.Fatal(err)
	}
	// Poll, generously, until the sink has written every row.
	for n := 0; n < len(rows); {
		select {
		case <-ctx.Done():
			st, _ := cc.Status(context.Background(), name)
			t.Fatalf("the sink wrote %d of %d rows: %+v", n, len(rows), st)
		case <-time.After(time.Second):
		}
		db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	}

	tgt, err := Describe(ctx, Side{DB: db, Dialect: Postgres{}, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	path := Path{Mode: m.time}
	d := Postgres{}
	for j, c := range cols {
		var tc Column
		for _, x := range tgt.Columns {
			if x.Name == c.col.Name {
				tc = x
			}
		}
		sc := c.col
		var k rowhash.Kind
		var reason string
		if isTemporal(sc.Kind) {
			k, sc.Time, tc.Time, reason = decideTime(sc, tc, path)
		} else if sc.Kind == rowhash.KindDecimal && isFloat(tc.Type) {
			// decimal.handling.mode=double: NewPlan leaves it out.
			if m.decimal != "double" {
				t.Errorf("%s: the sink wrote %s", sc.Name, tc.Type)
			}
			continue
		} else if k, err = Pair(sc.Kind, tc.Kind); err != nil {
			reason = err.Error()
		}
		if reason != "" {
			t.Errorf("%s (%s → %s): not comparable: %s", sc.Name, sc.Type, tc.Type, reason)
			continue
		}
		sc.Kind, tc.Kind = k, k
		if k == rowhash.KindChar && !isFixed(tc.Type) {
			tc.Width = 6
		}
		for i, r := range rows {
			want, err := AppendColumn(nil, sc, r[j])
			if err != nil {
				t.Fatal(err)
			}
			var got sql.NullString
			if err := db.QueryRowContext(ctx, "SELECT "+d.Field(tc)+" FROM "+table+" WHERE id = $1", i+1).Scan(&got); err != nil {
				t.Fatalf("%s: %v", d.Field(tc), err)
			}
			if !got.Valid {
				got.String = rowhash.Null
			}
			if got.String != string(want) {
				t.Errorf("row %d %s (%s → %s %s): PostgreSQL %q, reference %q", i+1, sc.Name, sc.Type, tc.Type, describeRule(tc.Time), got.String, want)
			}
		}
	}
}

func withField(schema map[string]any, field string) map[string]any {
	out := map[string]any{"field": field}
	for k, v := range schema {
		out[k] = v
	}
	return out
}
