package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fastjson "github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
)

// bigListing builds the expanded listing of n connectors with tasks tasks
// each, with configs of a realistic size (Debezium sinks carry ~20 keys).
func bigListing(n, tasks int) []byte {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		name := fmt.Sprintf("connector-%05d", i)
		fmt.Fprintf(&b, `%q:{"status":{"name":%q,"connector":{"state":"RUNNING","worker_id":"10.0.0.%d:8083"},"tasks":[`, name, name, i%16)
		for t := 0; t < tasks; t++ {
			if t > 0 {
				b.WriteString(",")
			}
			state := "RUNNING"
			trace := ""
			if (i+t)%97 == 0 {
				state = "FAILED"
				trace = `,"trace":"org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask due to unrecoverable exception.\n\tat org.apache.kafka.connect.runtime.WorkerSinkTask.deliverMessages(WorkerSinkTask.java:632)"`
			}
			fmt.Fprintf(&b, `{"id":%d,"state":%q,"worker_id":"10.0.0.%d:8083"%s}`, t, state, (i+t)%16, trace)
		}
		fmt.Fprintf(&b, `],"type":"sink"},"info":{"name":%q,"config":{`, name)
		fmt.Fprintf(&b, `"connector.class":"io.debezium.connector.jdbc.JdbcSinkConnector","name":%q,"tasks.max":"%d",`, name, tasks)
		fmt.Fprintf(&b, `"topics.regex":"prod\\.inventory_%d\\..*","connection.url":"jdbc:postgresql://pg-%d.internal:5432/warehouse",`, i, i%8)
		b.WriteString(`"connection.username":"cdc_sink","connection.password":"${file:/secrets/pg.properties:password}","insert.mode":"upsert",`)
		b.WriteString(`"primary.key.mode":"record_key","delete.enabled":"true","schema.evolution":"basic","errors.tolerance":"all",`)
		fmt.Fprintf(&b, `"errors.deadletterqueue.topic.name":"dlq-%05d","errors.deadletterqueue.topic.replication.factor":"3",`, i)
		b.WriteString(`"errors.deadletterqueue.context.headers.enable":"true","transforms":"unwrap","transforms.unwrap.type":"io.debezium.transforms.ExtractNewRecordState",`)
		b.WriteString(`"transforms.unwrap.add.fields":"source.ts_ms","key.converter":"org.apache.kafka.connect.json.JsonConverter","value.converter":"org.apache.kafka.connect.json.JsonConverter"`)
		b.WriteString(`},"tasks":[`)
		for t := 0; t < tasks; t++ {
			if t > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"connector":%q,"task":%d}`, name, t)
		}
		b.WriteString(`],"type":"sink"}}`)
	}
	b.WriteString("}")
	return []byte(b.String())
}

func benchServer(b *testing.B, body []byte) *connect.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	c, err := connect.New(config.ConnectCluster{Name: "bench", URL: srv.URL, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkConnectDecodeOnly is the baseline: decoding the listing into
// the client's types with the standard library, no request, no metrics.
func BenchmarkConnectDecodeOnly(b *testing.B) {
	body := bigListing(2000, 4)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var out map[string]*connect.Connector
		if err := json.Unmarshal(body, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConnectDecodeOnlyGoccy decodes the same listing with the
// decoder the client uses, for comparison.
func BenchmarkConnectDecodeOnlyGoccy(b *testing.B) {
	body := bigListing(2000, 4)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var out map[string]*connect.Connector
		if err := fastjson.Unmarshal(body, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConnectFetchAndDecode adds the HTTP round trip on loopback.
func BenchmarkConnectFetchAndDecode(b *testing.B) {
	body := bigListing(2000, 4)
	c := benchServer(b, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Connectors(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConnectScrape is the collector's whole cost per scrape: the
// request, decoding, and every metric made and handed over.
func BenchmarkConnectScrape(b *testing.B) {
	body := bigListing(2000, 4)
	c := benchServer(b, body)
	col := NewConnectCollector(c)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ch := make(chan prometheus.Metric, 1024)
		done := make(chan int)
		go func() {
			n := 0
			for range ch {
				n++
			}
			done <- n
		}()
		if err := col.Collect(context.Background(), ch); err != nil {
			b.Fatal(err)
		}
		close(ch)
		if n := <-done; n != 2000*(6+2)+8000*(6+1)+3 {
			b.Fatalf("%d metrics", n)
		}
	}
}

// BenchmarkConnectMetricsEndpoint is a whole /metrics answer as Prometheus
// receives it: the collector through the Exporter, the registry's Gather
// with its consistency checks, and the text encoding.
func BenchmarkConnectMetricsEndpoint(b *testing.B) {
	body := bigListing(2000, 4)
	c := benchServer(b, body)
	col := NewConnectCollector(c)
	logger := slog.New(slog.DiscardHandler)
	b.ReportAllocs()
	for b.Loop() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(NewExporter(context.Background(), logger, col))
		rec := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
