package collector

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// offsetsWorker lists a Debezium SQL Server and a Debezium PostgreSQL
// source, and answers every GET /connectors/{n}/offsets with offsets.
func offsetsWorker(offsets []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := offsets
		if r.URL.Path == "/connectors" {
			body = []byte(offsetsListing)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

const offsetsListing = `{
 "erp-source": {"status": {"name": "erp-source", "connector": {"state": "RUNNING", "worker_id": "w1"}, "tasks": [], "type": "source"},
   "info": {"name": "erp-source", "config": {"connector.class": "io.debezium.connector.sqlserver.SqlServerConnector", "database.names": "erp"}, "tasks": [], "type": "source"}},
 "inv-source": {"status": {"name": "inv-source", "connector": {"state": "RUNNING", "worker_id": "w1"}, "tasks": [], "type": "source"},
   "info": {"name": "inv-source", "config": {"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.dbname": "inventory"}, "tasks": [], "type": "source"}}}`

// Whatever a worker reports as a Debezium source's committed offsets
// (SQL Server commit_lsn, PostgreSQL ts_usec, snapshot markers, wrong
// types), the offsets collector never panics and never reports a
// negative or non-finite lag. The databases answer every query with
// fixed times.
func FuzzDebeziumOffsets(f *testing.F) {
	f.Fuzz(func(t *testing.T, offsets []byte) {
		mssql, mssqlMock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
		if err != nil {
			t.Fatal(err)
		}
		defer mssql.Close()
		pg, pgMock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
		if err != nil {
			t.Fatal(err)
		}
		defer pg.Close()
		mssqlMock.MatchExpectationsInOrder(false)
		pgMock.MatchExpectationsInOrder(false)
		at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		for range 4 {
			mssqlMock.ExpectQuery(database.LSNTimesQuery).WithArgs(sqlmock.AnyArg()).WillReturnRows(
				sqlmock.NewRows([]string{"c", "n"}).AddRow(at, at.Add(30*time.Second)))
			pgMock.ExpectQuery(database.LastCommitQuery).WillReturnRows(sqlmock.NewRows([]string{"t"}).AddRow(at))
		}
		dbs := []*database.DB{
			database.NewWithPool(config.Database{Name: "erp", Driver: config.DriverSQLServer, Connectors: []string{"erp-source"}}, mssql),
			database.NewWithPool(config.Database{Name: "inventory", Driver: config.DriverPostgres, Connectors: []string{"inv-source"}}, pg),
		}
		worker := httptest.NewServer(offsetsWorker(offsets))
		defer worker.Close()
		cl, err := connect.New(config.ConnectCluster{Name: "prod", URL: worker.URL})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ch := make(chan prometheus.Metric, 16)
		go func() {
			defer close(ch)
			_ = newOffsetsCollector(dbs, nil, cl).Collect(context.Background(), ch)
		}()
		for m := range ch {
			var out dto.Metric
			if err := m.Write(&out); err != nil {
				t.Fatal(err)
			}
			if v := out.GetGauge().GetValue(); v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("offset lag %v from offsets %q", v, offsets)
			}
		}
	})
}
