package sqldialect

import (
	"context"
	"regexp"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/database/databasetest"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The SQL Server catalog reads, as sent to the driver: a three-part name
// reads its own database's views, OBJECT_ID's argument is quoted, and the
// newest capture instance is the one compared.
func TestSQLServerCatalogQueries(t *testing.T) {
	pool, mock := databasetest.Mock(t)
	mock.ExpectQuery(SQLServerColumnsQuery("[erp].")).WithArgs("dbo", "customers").
		WillReturnRows(sqlmock.NewRows([]string{"n", "t", "l", "p", "s", "tp"}).
			AddRow("id", "INT", -1, 10, 0, -1).AddRow("email", "NVARCHAR", 100, -1, -1, -1).AddRow("at", "datetime2", -1, -1, -1, 7))
	cols, err := ReadCatalogColumns(context.Background(), pool, SQLServer{}, "erp.dbo.customers")
	if err != nil || len(cols) != 3 || cols[1] != (CatalogColumn{Name: "email", Type: "nvarchar", Length: 100, Precision: -1, Scale: -1, TimePrecision: -1}) {
		t.Fatalf("columns %+v, %v", cols, err)
	}
	mock.ExpectQuery(SQLServerCapturedColumnsQuery("")).WithArgs("[dbo].[odd]]name]").
		WillReturnRows(sqlmock.NewRows([]string{"ci", "c"}).
			AddRow("dbo_odd_v2", "id").AddRow("dbo_odd_v2", "email").AddRow("dbo_odd_v2", "added").
			AddRow("dbo_odd", "id").AddRow("dbo_odd", "email"))
	ci, captured, ok, err := ReadCaptured(context.Background(), pool, "dbo.odd]name")
	if err != nil || !ok || ci != "dbo_odd_v2" || len(captured) != 3 {
		t.Errorf("capture instance %q %v %v %v, want the newest, dbo_odd_v2, with 3 columns", ci, captured, ok, err)
	}
	mock.ExpectQuery(SQLServerCapturedColumnsQuery("")).WithArgs("[dbo].[plain]").WillReturnRows(sqlmock.NewRows([]string{"ci", "c"}))
	if _, _, ok, err := ReadCaptured(context.Background(), pool, "plain"); ok || err != nil {
		t.Errorf("a table without a capture instance: ok %v err %v", ok, err)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Error(err)
	}
	mock.ExpectQuery(SQLServerColumnsQuery("")).WithArgs("dbo", "missing").WillReturnRows(sqlmock.NewRows([]string{"n", "t", "l", "p", "s", "tp"}))
	if _, err := ReadCatalogColumns(context.Background(), pool, SQLServer{}, "missing"); err == nil || !regexp.MustCompile(`not found`).MatchString(err.Error()) {
		t.Errorf("a missing table: %v, want an error saying it is not found", err)
	}
}

// The T-SQL sent to SQL Server, written from Microsoft's documentation
// of INFORMATION_SCHEMA.COLUMNS, cdc.change_tables and
// cdc.captured_columns, is reviewed as a file.
func TestSQLServerCatalogQueriesGolden(t *testing.T) {
	testenv.Golden(t, "tsql/catalog-columns.sql", SQLServerColumnsQuery("[erp]."))
	testenv.Golden(t, "tsql/captured-columns.sql", SQLServerCapturedColumnsQuery("[erp]."))
}

// Several PostgreSQL tables are read in one query naming them as
// literals, quotes doubled; a table the catalog does not show is absent.
func TestPostgresTablesColumnsInOneQuery(t *testing.T) {
	pool, mock := databasetest.Mock(t)
	mock.ExpectQuery(PostgresTablesColumnsQuery("('public', 'a'), ('s', 'o''brien')")).
		WillReturnRows(sqlmock.NewRows([]string{"s", "t", "n", "ty", "l", "p", "sc", "tp"}).
			AddRow("s", "o'brien", "id", "INTEGER", -1, 32, 0, -1))
	got, err := ReadCatalogColumnsOf(context.Background(), pool, Postgres{}, []string{"a", "s.o'brien"})
	if err != nil || len(got) != 1 || len(got["s.o'brien"]) != 1 || got["s.o'brien"][0].Type != "integer" {
		t.Errorf("columns %+v, %v; want s.o'brien's id only", got, err)
	}
}
