package doctor

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// The SQL Server checks run against go-sqlmock: no SQL Server can run
// here, so these tests pin the queries (written from Microsoft's docs)
// and what the doctor concludes from their answers.

type mssqlState struct {
	dbCDC     bool
	tracked   bool
	instances int
	jobs      []string
	agent     string
	major     int // SQL Server version; 0 reads as 2019
	compat    int
	// periodEndScale is the scale of a temporal table's period end
	// column; 0 when the table is not system-versioned.
	periodEndScale int
	// table is the source table (schema.table, default dbo.orders) and
	// object the name OBJECT_ID must be given for it (default
	// [dbo].[orders]).
	table, object string
}

func mssqlDoctor(t *testing.T, st mssqlState, tasksMax string) (*Doctor, sqlmock.Sqlmock) {
	t.Helper()
	if st.table == "" {
		st.table, st.object = "dbo.orders", "[dbo].[orders]"
	}
	schema, table, _ := strings.Cut(st.table, ".")
	cfg := mustParse(t, `connect_clusters: [{name: c, url: 'http://x:8083'}]
databases:
  - {name: shop, driver: sqlserver, dsn: 'sqlserver://u:p@mssql:1433?database=shop', connectors: [shop-src]}
  - {name: wh, driver: postgres, dsn: 'postgres://u:p@pg:5432/wh'}
tables:
  - name: orders
    source: {database: shop, table: `+strconv.Quote(st.table)+`}
    target: {database: wh, table: public.orders}
    signal: {connector: shop-src, table: dbo.debezium_signal}
`)
	pool, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	mock.MatchExpectationsInOrder(false)
	db := database.NewWithPool(cfg.Databases[0], pool)
	if st.major == 0 {
		st.major, st.compat = 15, 150
	}

	mock.ExpectQuery(SQLServerTablesQuery).WillReturnRows(sqlmock.NewRows([]string{"s", "t"}).AddRow(schema, table).AddRow("dbo", "debezium_signal"))
	// Once for the capture check, once for the jobs check.
	for range 2 {
		mock.ExpectQuery(database.CDCEnabledQuery).WillReturnRows(sqlmock.NewRows([]string{"is_cdc_enabled"}).AddRow(st.dbCDC))
	}
	if st.dbCDC {
		mock.ExpectQuery(SQLServerTrackedQuery).WithArgs(st.object).WillReturnRows(sqlmock.NewRows([]string{"is_tracked_by_cdc"}).AddRow(st.tracked))
		mock.ExpectQuery(SQLServerCaptureInstancesQuery).WithArgs(st.object).WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(st.instances))
		periods := sqlmock.NewRows([]string{"name", "scale"})
		if st.periodEndScale > 0 {
			periods.AddRow("ValidTo", st.periodEndScale)
		}
		mock.ExpectQuery(SQLServerPeriodEndQuery).WithArgs(st.object).WillReturnRows(periods)
		jobs := sqlmock.NewRows([]string{"job_type", "pollinginterval", "retention"})
		for _, j := range st.jobs {
			jobs.AddRow(j, 5, 4320)
		}
		mock.ExpectQuery(database.CDCJobsQuery).WillReturnRows(jobs)
		mock.ExpectQuery(SQLServerAgentQuery).WillReturnRows(sqlmock.NewRows([]string{"status_desc"}).AddRow(st.agent))
	}
	mock.ExpectQuery(sqldialect.SQLServerVersionQuery).WillReturnRows(sqlmock.NewRows([]string{"major", "level", "edition", "compat"}).
		AddRow(int64(st.major), "RTM", int64(2), int64(st.compat)))
	// The signal table's columns.
	mock.ExpectQuery(SQLServerColumnsQuery).WithArgs("dbo", "debezium_signal").WillReturnRows(sqlmock.NewRows([]string{"c"}).AddRow("id").AddRow("type").AddRow("data"))

	src := conn("shop-src", connect.TypeSource, map[string]string{
		"connector.class": connectorkind.ClassSQLServer, "database.names": "shop", "tasks.max": tasksMax, "topic.prefix": "erp",
		"table.include.list": regexp.QuoteMeta(st.table), "heartbeat.interval.ms": "10000", "signal.data.collection": "shop.dbo.debezium_signal",
	})
	sink := conn("wh-sink", connect.TypeSink, map[string]string{
		"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "erp.shop.dbo.orders", "connection.url": "jdbc:postgresql://pg:5432/wh",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "wh-dlq", "errors.deadletterqueue.context.headers.enable": "true",
		"insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true", "schema.evolution": "basic",
	})
	d := &Doctor{Config: cfg,
		Clusters:  []Cluster{{Name: "c", Client: fakeCluster{conns: []connect.Connector{src, sink}}}},
		Databases: map[string]*database.DB{"shop": db}}
	return d, mock
}

func TestSQLServerChecks(t *testing.T) {
	healthy := mssqlState{dbCDC: true, tracked: true, instances: 1, jobs: []string{"capture", "cleanup"}, agent: "Running"}
	cases := []struct {
		name     string
		st       func(s *mssqlState)
		tasksMax string
		check    string
		target   string
		sev      Severity
		msg, fix string
	}{
		{"table not enabled for CDC", func(s *mssqlState) { s.tracked, s.instances = false, 0 }, "1",
			CheckTableNotCaptured, "table:orders", Error, "is_tracked_by_cdc = 0, no capture instance",
			"EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'orders'"},
		{"tracked without a capture instance", func(s *mssqlState) { s.instances = 0 }, "1",
			CheckTableNotCaptured, "table:orders", Error, "half-enabled", "sys.sp_cdc_disable_table"},
		{"database not enabled for CDC", func(s *mssqlState) { s.dbCDC = false }, "1",
			CheckTableNotCaptured, "database:shop", Error, "not enabled for the database", "EXEC sys.sp_cdc_enable_db"},
		{"capture job missing", func(s *mssqlState) { s.jobs = []string{"cleanup"} }, "1",
			CheckCDCJobs, "database:shop", Error, "capture job is missing", "EXEC sys.sp_cdc_add_job @job_type = N'capture'"},
		{"cleanup job missing", func(s *mssqlState) { s.jobs = []string{"capture"} }, "1",
			CheckCDCJobs, "database:shop", Warning, "cleanup job is missing", "EXEC sys.sp_cdc_add_job @job_type = N'cleanup'"},
		{"agent stopped", func(s *mssqlState) { s.agent = "Stopped" }, "1",
			CheckCDCJobs, "database:shop", Error, "SQL Server Agent is Stopped", "start the SQL Server Agent"},
		{"SQL Server 2014: Debezium does not support it", func(s *mssqlState) { s.major, s.compat = 12, 120 }, "1",
			CheckSQLServerVersion, "database:shop", Error, "SQL Server 2014 (12.x) RTM is not supported: Debezium's SQL Server connector needs SQL Server 2016 SP1 or later", "upgrade to SQL Server 2016 SP1"},
		{"SQL Server 2017: no UTF-8 collations for text comparison", func(s *mssqlState) { s.major, s.compat = 14, 140 }, "1",
			CheckSQLServerVersion, "database:shop", Warning, "SQL Server 2017 (14.x) RTM has no UTF-8 collations", "ignore_columns"},
		{"compatibility level 120: no STRING_SPLIT", func(s *mssqlState) { s.major, s.compat = 15, 120 }, "1",
			CheckSQLServerVersion, "database:shop", Info, "compatibility level 120 has no STRING_SPLIT", "SET COMPATIBILITY_LEVEL = 130"},
		{"temporal table: the period end cannot travel as a NanoTimestamp", func(s *mssqlState) { s.periodEndScale = 7 }, "1",
			CheckTableNotCaptured, "table:orders", Error, "period end column ValidTo (datetime2(7)) holds 9999-12-31 23:59:59.9999999", "add shop.dbo.orders.ValidTo to column.exclude.list of shop-src"},
		{"tasks.max above database.names", func(*mssqlState) {}, "3",
			CheckSourceTasksMax, "connector:c/shop-src", Warning, "tasks.max is 3 but the Debezium SQL Server source runs at most one task per database, and database.names lists 1", "tasks.max=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := healthy
			tc.st(&st)
			d, mock := mssqlDoctor(t, st, tc.tasksMax)
			r := d.Run(context.Background())
			mustFind(t, r, tc.check, tc.target, tc.sev, tc.msg, tc.fix)
			if err := mock.ExpectationsWereMet(); err != nil && st.dbCDC {
				t.Error(err)
			}
		})
	}
	t.Run("database off also marks each table", func(t *testing.T) {
		d, _ := mssqlDoctor(t, mssqlState{}, "1")
		r := d.Run(context.Background())
		mustFind(t, r, CheckTableNotCaptured, "table:orders", Error, "CDC is not enabled for database shop", "EXEC sys.sp_cdc_enable_db; then EXEC sys.sp_cdc_enable_table")
		mustNotFind(t, r, CheckCDCJobs, "database:shop")
	})
}

// OBJECT_ID parses its argument as a multi-part name: a schema with a
// space or a table with a quote or a bracket must reach it quoted, or the
// table reads as missing. The fixes quote them as N” literals.
func TestSQLServerLooksUpANameThatNeedsQuoting(t *testing.T) {
	st := mssqlState{dbCDC: true, jobs: []string{"capture", "cleanup"}, agent: "Running",
		table: "has space.it's]", object: "[has space].[it's]]]"}
	d, mock := mssqlDoctor(t, st, "1")
	r := d.Run(context.Background())
	mustFind(t, r, CheckTableNotCaptured, "table:orders", Error, "has space.it's] is not captured: CDC is not enabled for the table",
		"EXEC sys.sp_cdc_enable_table @source_schema = N'has space', @source_name = N'it''s]'")
	for _, f := range r.Findings {
		if strings.Contains(f.Message, "does not exist") {
			t.Errorf("the table read as missing: %s", f.Message)
		}
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
}

func TestSQLServerHealthyPipelineIsClean(t *testing.T) {
	d, mock := mssqlDoctor(t, mssqlState{dbCDC: true, tracked: true, instances: 1, jobs: []string{"capture", "cleanup"}, agent: "Running"}, "1")
	r := d.Run(context.Background())
	if !r.Healthy() {
		t.Fatalf("healthy SQL Server pipeline has findings:\n%s", dump(r))
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
}

// Debezium's SQL Server source names data collections
// database.schema.table and ignores a snapshot signal for anything else:
// doctor flags a repair signal naming a table the connector does not
// capture.
func TestSQLServerSignalDataCollection(t *testing.T) {
	healthy := mssqlState{dbCDC: true, tracked: true, instances: 1, jobs: []string{"capture", "cleanup"}, agent: "Running"}
	for _, tc := range []struct {
		collection string
		sev        Severity
		msg        string
	}{
		{"dbo.orders", Error, "repair signals name data collection dbo.orders, but the Debezium SQL Server source names tables <database>.<schema>.<table>"},
		{"shop.dbo.customers", Error, "repair signals name data collection shop.dbo.customers, which connector shop-src does not capture"},
		{"crm.dbo.orders", Error, "in database crm, which connector shop-src does not capture (it reads shop)"},
	} {
		t.Run(tc.collection, func(t *testing.T) {
			d, _ := mssqlDoctor(t, healthy, "1")
			d.Config.Tables[0].Signal.DataCollection = tc.collection
			r := d.Run(context.Background())
			mustFind(t, r, CheckSignal, "table:orders", tc.sev, tc.msg, "set tables[].signal.data_collection of orders to shop.dbo.orders")
		})
	}
	d, _ := mssqlDoctor(t, healthy, "1")
	d.Config.Tables[0].Signal.DataCollection = "SHOP.dbo.orders"
	mustNotFind(t, d.Run(context.Background()), CheckSignal, "table:orders")
}

// A period end of datetime2(6) travels as a MicroTimestamp, which
// reaches year 9999: nothing to fix.
func TestSQLServerTemporalTableWithMicrosecondPeriodIsClean(t *testing.T) {
	d, _ := mssqlDoctor(t, mssqlState{dbCDC: true, tracked: true, instances: 1, jobs: []string{"capture", "cleanup"}, agent: "Running", periodEndScale: 6}, "1")
	if r := d.Run(context.Background()); !r.Healthy() {
		t.Fatalf("findings:\n%s", dump(r))
	}
}

// The signal table's advice quotes its names as literals: a quote in one
// does not end the string.
func TestSignalTableDDLQuotesItsLiterals(t *testing.T) {
	got := signalTableDDL("sqlserver", "shop.it's.sig")
	if want := "@source_schema = N'it''s', @source_name = N'sig'"; !strings.Contains(got, want) {
		t.Errorf("%s\nlacks %s", got, want)
	}
}
