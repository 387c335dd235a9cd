package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// newRunner is a runner over a history of its own, as the server keeps
// one; when the test ends its runs are cancelled, then waited for.
func newRunner(t testing.TB, tables []Table, opts Options) *Runner {
	jobs := NewJobs()
	r := jobs.Runner(tables, opts, Limits{}, nil)
	t.Cleanup(func() {
		jobs.Close()
		r.Close()
	})
	return r
}

func TestFilters(t *testing.T) {
	keys := []sqldialect.Key{}
	for _, id := range []string{"5", "1", "2", "3", "4", "9", "11"} {
		keys = append(keys, sqldialect.Key{"id": json.Number(id)})
	}
	f, err := Filters(sqldialect.Postgres{}, []sqldialect.Column{{Name: "id", Kind: rowhash.KindInt}}, keys, "inventory.customers", 2000)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"id" BETWEEN 1 AND 5 OR "id" IN (9,11)`; len(f) != 1 || f[0] != want {
		t.Errorf("filters %q, want %q", f, want)
	}
	compound := []sqldialect.Column{{Name: "customer_id", Kind: rowhash.KindInt}, {Name: "order_no", Kind: rowhash.KindText}}
	f, err = Filters(sqldialect.SQLServer{}, compound, []sqldialect.Key{{"customer_id": json.Number("7"), "order_no": "O'1"}}, "db.dbo.orders", 2000)
	if err != nil {
		t.Fatal(err)
	}
	if want := `([customer_id] = 7 AND [order_no] = N'O''1')`; f[0] != want {
		t.Errorf("compound filter %q, want %q", f[0], want)
	}
	// Many keys are split so each signal fits.
	var many []sqldialect.Key
	for i := 0; i < 400; i++ {
		many = append(many, sqldialect.Key{"customer_id": json.Number("1"), "order_no": strings.Repeat("x", 10) + string(rune('a'+i%26))})
	}
	f, _ = Filters(sqldialect.Postgres{}, compound, many, "inventory.orders", 2000)
	for _, x := range f {
		if n := len(SnapshotSignal("inventory.orders", x)); n > 2000 {
			t.Errorf("signal of %d bytes exceeds 2000", n)
		}
	}
	if len(f) < 2 {
		t.Errorf("400 keys in %d signal(s), want a split", len(f))
	}
	if _, err := Filters(sqldialect.Postgres{}, []sqldialect.Column{{Name: "id", Kind: rowhash.KindInt}}, []sqldialect.Key{{"id": "x"}}, "c", 2000); err == nil {
		t.Error("a non-integer value for an integer key was accepted")
	}
}

// The time path takes compare.time_precision from the table and the mode
// from the live configuration of its source connector.
func TestTimePathReadsTheSourceConnector(t *testing.T) {
	tc := config.Table{Name: "orders", Compare: &config.Compare{TimePrecision: "ms"}}
	src := func(_ context.Context, t config.Table) (string, map[string]string, error) {
		return "inventory-source", map[string]string{"time.precision.mode": "connect"}, nil
	}
	p, err := TimePath(tc, src)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != sqldialect.ModeConnect || p.Precision != sqldialect.PrecisionMillis {
		t.Errorf("path %+v", p)
	}
	none := func(context.Context, config.Table) (string, map[string]string, error) { return "", nil, nil }
	if p, _ = TimePath(tc, none)(context.Background()); p.Mode != "" {
		t.Errorf("a table with no source connector got mode %q", p.Mode)
	}
	unset := func(context.Context, config.Table) (string, map[string]string, error) {
		return "s", map[string]string{}, nil
	}
	if p, _ = TimePath(tc, unset)(context.Background()); p.Mode != sqldialect.ModeAdaptive {
		t.Errorf("a source without time.precision.mode got mode %q, want Debezium's default", p.Mode)
	}
	failing := func(context.Context, config.Table) (string, map[string]string, error) {
		return "", nil, errors.New("source connector gone: 503")
	}
	if _, err := TimePath(tc, failing)(context.Background()); err == nil || !strings.Contains(err.Error(), "source connector gone") {
		t.Errorf("error %v", err)
	}
}
