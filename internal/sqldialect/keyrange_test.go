package sqldialect

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// The key range is read with min() and max() of the bare column, so an
// index leading with it answers each from one end (PostgreSQL's min/max
// optimisation, SQL Server's TOP 1 on the index): an aggregate over an
// expression of the column, as min(id::bigint), is held by no index and
// scans the table.
func TestKeyRangeQueryAggregatesTheBareColumn(t *testing.T) {
	aggOverExpr := regexp.MustCompile(`(?i)\b(min|max)\((cast\(|[^)]*::)`)
	for _, d := range []Dialect{Postgres{}, SQLServer{}} {
		q := KeyRangeQuery(d, "dbo.Orders", "OrderID")
		if aggOverExpr.MatchString(q) {
			t.Errorf("%T: the aggregate reads an expression, not the column:\n%s", d, q)
		}
		if !strings.Contains(q, "min("+d.QuoteIdent("OrderID")+")") || !strings.Contains(q, "max("+d.QuoteIdent("OrderID")+")") {
			t.Errorf("%T: no min/max of the quoted column:\n%s", d, q)
		}
	}
}

// TestKeyRangeGolden pins the key-range SQL of both dialects.
func TestKeyRangeGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString("-- PostgreSQL\n" + KeyRangeQuery(Postgres{}, "public.orders", "id") + "\n")
	b.WriteString("-- SQL Server\n" + KeyRangeQuery(SQLServer{}, "dbo.Orders", "OrderID"))
	testenv.Golden(t, "keyrange.sql", b.String())
}
