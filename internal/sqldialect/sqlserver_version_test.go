package sqldialect

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

func expectVersion(mock sqlmock.Sqlmock, major int, level string, compat int) {
	mock.ExpectQuery(regexp.QuoteMeta(SQLServerVersionQuery)).
		WillReturnRows(sqlmock.NewRows([]string{"major", "level", "edition", "compat"}).AddRow(int64(major), level, int64(2), int64(compat)))
}

func TestSQLServerVersionSupport(t *testing.T) {
	for _, tt := range []struct {
		v                    SQLServerVersion
		supported, split, u8 bool
		name                 string
	}{
		{SQLServerVersion{Major: 12, Level: "SP3", Compat: 120}, false, false, false, "SQL Server 2014 (12.x) SP3"},
		{SQLServerVersion{Major: 13, Level: "RTM", Compat: 130}, false, true, false, "SQL Server 2016 (13.x) RTM"},
		{SQLServerVersion{Major: 13, Level: "SP1", Compat: 130}, true, true, false, "SQL Server 2016 (13.x) SP1"},
		{SQLServerVersion{Major: 14, Level: "RTM", Compat: 110}, true, false, false, "SQL Server 2017 (14.x) RTM"},
		{SQLServerVersion{Major: 15, Level: "RTM", Compat: 150}, true, true, true, "SQL Server 2019 (15.x) RTM"},
		{SQLServerVersion{Major: 12, Edition: 5, Compat: 160}, true, true, true, "Azure SQL"},
		{SQLServerVersion{}, true, true, true, "SQL Server 0.x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.String(); got != tt.name {
				t.Errorf("name %q, want %q", got, tt.name)
			}
			err := tt.v.Supported()
			if (err == nil) != tt.supported {
				t.Errorf("Supported() = %v, want supported %v", err, tt.supported)
			}
			if err != nil && (!strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), "2016 SP1")) {
				t.Errorf("error %q does not name the version and the minimum", err)
			}
			if got := tt.v.HasStringSplit(); got != tt.split {
				t.Errorf("HasStringSplit %v, want %v", got, tt.split)
			}
			if got := tt.v.HasUTF8Collations(); got != tt.u8 {
				t.Errorf("HasUTF8Collations %v, want %v", got, tt.u8)
			}
		})
	}
}

func describeSQLServer(mock sqlmock.Sqlmock, major, compat int) {
	expectVersion(mock, major, "RTM", compat)
	mock.ExpectQuery(`INFORMATION_SCHEMA.COLUMNS`).WillReturnRows(sqlmock.NewRows([]string{"c", "t", "p", "w", "coll", "computed", "always"}).AddRow("id", "int", -1, -1, "", 0, 0).AddRow("name", "nvarchar", -1, 40, "", 0, 0))
	mock.ExpectQuery(`PRIMARY KEY`).WillReturnRows(sqlmock.NewRows([]string{"c"}).AddRow("id"))
	mock.ExpectQuery(`dm_db_partition_stats`).WillReturnRows(sqlmock.NewRows([]string{"n"}).AddRow(int64(100000)))
}

// A version without UTF-8 collations cannot hash text the way PostgreSQL
// stores it: the plan is refused with the version and the columns named,
// never left to fail with a raw SQL error.
func TestPlanOnSQLServer2017RefusesTextClearly(t *testing.T) {
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mock.MatchExpectationsInOrder(false)
	describeSQLServer(mock, 14, 140)
	describeSQLServer(mock, 14, 140)
	s := Side{DB: db, Dialect: SQLServer{}, Table: "dbo.t"}
	_, err = NewPlan(context.Background(), s, s, PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), "SQL Server 2017 (14.x)") || !strings.Contains(err.Error(), "name") || !strings.Contains(err.Error(), "ignore_columns") {
		t.Fatalf("error %v", err)
	}
	// Without the text column the same server is fine, at its own level.
	describeSQLServer(mock, 14, 120)
	describeSQLServer(mock, 14, 120)
	p, err := NewPlan(context.Background(), s, s, PlanOptions{Ignore: []string{"name"}})
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Source.Dialect.(SQLServer).Version; v.Major != 14 || v.Compat != 120 {
		t.Errorf("plan dialect version %+v", v)
	}
}

func TestPlanRefusesSQLServer2014(t *testing.T) {
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	expectVersion(mock, 12, "SP3", 120)
	s := Side{DB: db, Dialect: SQLServer{}, Table: "dbo.t"}
	if _, err := NewPlan(context.Background(), s, s, PlanOptions{}); err == nil || !strings.Contains(err.Error(), "SQL Server 2014 (12.x) SP3 is not supported") {
		t.Fatalf("error %v", err)
	}
}

// golden compares got with testdata/tsql/name, or rewrites it with -update.

// The key lookup of drift sampling, per compatibility level: STRING_SPLIT
// from level 130, XML nodes below it.
func TestGoldenSQLServerKeyLookupPerVersion(t *testing.T) {
	for name, v := range map[string]SQLServerVersion{
		"intin-2016-compat130.sql": {Major: 13, Level: "SP1", Compat: 130},
		"intin-2017-compat120.sql": {Major: 14, Level: "RTM", Compat: 120},
		"intin-2019-compat150.sql": {Major: 15, Level: "RTM", Compat: 150},
	} {
		d := SQLServer{Version: v}
		cond, arg := d.IntIn("id", []int64{3, -1, 42})
		if arg != "3,-1,42" {
			t.Errorf("%s: argument %v", name, arg)
		}
		testenv.Golden(t, "tsql/"+name, d.Hashed("dbo.orders", []Column{{Name: "id", Kind: rowhash.KindInt}}, []string{"[id] AS k0"}, cond))
	}
}
