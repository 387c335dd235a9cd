package doctor

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// Real-world connector configurations, written from Confluent's and
// Debezium's documentation, get exactly the field errors and advice in
// their .golden file: a good Confluent or Aiven sink with Avro and Schema
// Registry gets none, the usual mistakes get theirs in the sink's own
// settings.
func TestConnectorConfigurationsFromTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/connectors/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			name, cfg, err := ParseConnectorFile(path, data)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, fe := range localFieldErrors(name, cfg) {
				fmt.Fprintf(&b, "field-error %s: %s\n", fe.Field, fe.Message)
			}
			for _, f := range StaticFindings(name, cfg) {
				fmt.Fprintf(&b, "%s %s: %s\n  fix: %s\n", f.Severity, f.Check, f.Message, f.Fix)
			}
			golden := strings.TrimSuffix(path, ".json") + ".golden"
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", b.String(), golden, want)
			}
		})
	}
}
