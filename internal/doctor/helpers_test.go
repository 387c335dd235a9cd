package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// fakeCluster serves a fixed connector listing, or an error.
type fakeCluster struct {
	conns []connect.Connector
	err   error
}

func (f fakeCluster) Connectors(context.Context) ([]connect.Connector, error) { return f.conns, f.err }

func conn(name, typ string, cfg map[string]string) connect.Connector {
	cfg["name"] = name
	return connect.Connector{
		Status: connect.Status{Name: name, Type: typ, Connector: connect.Instance{State: connect.StateRunning}},
		Info:   connect.Info{Name: name, Type: typ, Config: cfg},
	}
}

// fakeTopics lists a fixed set of topics.
type fakeTopics map[string]bool

func (f fakeTopics) Topics(context.Context) (map[string]bool, error) { return f, nil }

func mustParse(t *testing.T, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yml", []byte(yml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// find returns the findings of check about target.
func find(r Report, check, target string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Check == check && f.Target == target {
			out = append(out, f)
		}
	}
	return out
}

// mustFind fails unless exactly one finding of check about target exists
// with the severity, and its message and fix contain the given texts.
func mustFind(t *testing.T, r Report, check, target string, sev Severity, msgHas, fixHas string) Finding {
	t.Helper()
	fs := find(r, check, target)
	if len(fs) != 1 {
		t.Fatalf("want one %s finding for %s, got %d; all findings:\n%s", check, target, len(fs), dump(r))
	}
	f := fs[0]
	if f.Severity != sev {
		t.Errorf("%s %s: severity %s, want %s", check, target, f.Severity, sev)
	}
	if !strings.Contains(f.Message, msgHas) {
		t.Errorf("%s %s: message %q lacks %q", check, target, f.Message, msgHas)
	}
	if !strings.Contains(f.Fix, fixHas) {
		t.Errorf("%s %s: fix %q lacks %q", check, target, f.Fix, fixHas)
	}
	return f
}

func mustNotFind(t *testing.T, r Report, check, target string) {
	t.Helper()
	if fs := find(r, check, target); len(fs) != 0 {
		t.Fatalf("unexpected %s finding for %s: %+v", check, target, fs)
	}
}

func dump(r Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString("  " + f.Severity.String() + " " + f.Check + " " + f.Target + ": " + f.Message + "\n")
	}
	return b.String()
}

// openDatabases opens the configuration's databases (lazily: nothing
// connects until a check queries one).
func openDatabases(t *testing.T, cfg *config.Config) map[string]*database.DB {
	t.Helper()
	dbs := map[string]*database.DB{}
	for _, dc := range cfg.Databases {
		db, err := database.Open(context.Background(), dc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[dc.Name] = db
	}
	return dbs
}
