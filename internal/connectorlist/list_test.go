package connectorlist

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

const sampleTrace = "org.apache.kafka.connect.errors.ConnectException: Exiting WorkerSinkTask\n\tat org.apache...\n" +
	"Caused by: org.postgresql.util.PSQLException: ERROR: column \"tier\" of relation \"customers\" does not exist\n\tat org.postgresql..."

func sampleListing() *Listing {
	conns := []connect.Connector{
		{
			Status: connect.Status{Name: "orders-sink", Type: "sink", Connector: connect.Instance{State: "RUNNING", WorkerID: "w2:8083"},
				Tasks: []connect.TaskInfo{
					{ID: 1, State: "FAILED", WorkerID: "w1:8083", Trace: sampleTrace},
					{ID: 0, State: "RUNNING", WorkerID: "w2:8083"},
				}},
			Info: connect.Info{Name: "orders-sink", Type: "sink", Config: map[string]string{"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", "tasks.max": "2"}},
		},
		{
			Status: connect.Status{Name: "inventory-source", Type: "source", Connector: connect.Instance{State: "STOPPED", WorkerID: "w1:8083"}},
			Info:   connect.Info{Name: "inventory-source", Type: "source", Config: map[string]string{"connector.class": connectorkind.ClassSQLServer, "tasks.max": "1"}},
		},
	}
	return NewListing("prod", "http://connect:8083", conns)
}

func TestListingTable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleListing().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `CONNECTOR         TYPE    STATE    TASKS                    WORKER   CLASS
inventory-source  source  STOPPED  0                        w1:8083  io.debezium.connector.sqlserver.SqlServerConnector
orders-sink       sink    RUNNING  1/2 FAILED, 1/2 RUNNING  w2:8083  io.debezium.connector.jdbc.JdbcSinkConnector
  task 0                  RUNNING                           w2:8083
  task 1                  FAILED                            w1:8083  org.postgresql.util.PSQLException: ERROR: column "tier" of relation "customers" does not exist

WORKER   CONNECTORS  TASKS
w1:8083  1           1
w2:8083  1           1
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestListingJSONKeepsTracesAndWorkers(t *testing.T) {
	var b bytes.Buffer
	if err := sampleListing().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got Listing
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b.String())
	}
	if got.Cluster != "prod" || len(got.Connectors) != 2 || len(got.Workers) != 2 {
		t.Fatalf("decoded %+v", got)
	}
	sink := got.Connectors[1]
	if sink.Name != "orders-sink" || len(sink.Tasks) != 2 || sink.Tasks[1].State != "FAILED" || sink.Tasks[1].Trace != sampleTrace {
		t.Errorf("orders-sink decoded as %+v, want tasks sorted by id with the trace kept", sink)
	}
}

func TestEmptyListing(t *testing.T) {
	var b bytes.Buffer
	if err := NewListing("prod", "http://connect:8083", nil).WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := "CONNECTOR  TYPE  STATE  TASKS  WORKER  CLASS\nno connectors on connect cluster prod (http://connect:8083)\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
