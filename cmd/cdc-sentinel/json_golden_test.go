package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/json/*.shape from what the commands print")

// jsonShape is the skeleton of a JSON document: every key, in order, with
// the kind of its value, the first element standing for a list. Values
// change from run to run; the shape is what programs rely on.
func jsonShape(v any, indent string) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{\n")
		for _, k := range keys {
			b.WriteString(indent + "  " + k + ": " + jsonShape(x[k], indent+"  ") + "\n")
		}
		return b.String() + indent + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + jsonShape(x[0], indent) + "]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "?"
}

// compareShape checks out's shape against testdata/json/name.shape
// (go test -run TestJSONOutputsMatchTheirGoldenShapes -update rewrites it).
func compareShape(t *testing.T, name, out string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, out)
	}
	got := jsonShape(v, "") + "\n"
	path := filepath.Join("testdata", "json", name+".shape")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run with -update to create it)", name, err)
	}
	if got != string(want) {
		t.Errorf("%s: the JSON's shape changed (a contract: say so in the README's changes, then -update)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// The -o json outputs that need no pipeline keep their shape: a golden
// file each, compared key by key and kind by kind.
func TestJSONOutputsMatchTheirGoldenShapes(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yml", "connect_clusters:\n  - name: prod\n    url: "+fakeWorkerWithOneSink(t)+"\n")
	bad := writeFile(t, dir, "bad.yml", "connect_clusters:\n  - name: a\n    url: ftp://x\n")
	unreachable := writeFile(t, dir, "gone.yml", "connect_clusters: [{name: gone, url: 'http://127.0.0.1:1', timeout: 1s}]\n")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"check-config-valid", []string{"--config.file=" + good, "check-config", "-o", "json"}},
		{"check-config-invalid", []string{"--config.file=" + bad, "check-config", "-o", "json"}},
		{"connectors-list", []string{"--config.file=" + good, "connectors", "list", "-o", "json"}},
		{"doctor", []string{"--config.file=" + unreachable, "doctor", "-o", "json", "--web.listen-address=127.0.0.1:19641"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, _ := runBinary(t, c.args...)
			if out == "" {
				t.Fatalf("no output: %s", errOut)
			}
			compareShape(t, c.name, out)
		})
	}
}
