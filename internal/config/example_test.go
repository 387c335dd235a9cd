package config

import (
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectaction/actionkind"
)

const examplePath = "../../cdc-sentinel.example.yml"

// The annotated example is valid and complete: every top-level key of the
// configuration is set in it (not only in a comment), and it shows the
// parts a new user needs to see once: a database behind Vault, a table
// with its signal, a filter and compare settings, and every remediation
// action.
func TestTheAnnotatedExampleIsValidAndComplete(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(examplePath, data)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}

	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		set[doc.Content[i].Value] = true
	}
	paths := map[string]bool{}
	keyPaths(reflect.TypeOf(Config{}), "", paths)
	var missing []string
	for p := range paths {
		if !containsDot(p) && !set[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the example leaves out these top-level keys: %v", missing)
	}

	vault, signal, filter, compare := false, false, false, false
	for _, d := range cfg.Databases {
		vault = vault || d.Vault != nil
	}
	for _, tb := range cfg.Tables {
		signal = signal || tb.Signal != nil
		filter = filter || tb.Filter != ""
		compare = compare || tb.Compare != nil
	}
	for what, shown := range map[string]bool{"a database with vault": vault, "a table with signal": signal, "a table with a filter": filter, "a table with compare": compare} {
		if !shown {
			t.Errorf("the example shows no %s", what)
		}
	}
	var actions []string
	for _, r := range cfg.Remediation.Rules {
		actions = append(actions, r.Action, r.OnResolved)
	}
	for _, a := range actionkind.RuleNames() {
		if !slices.Contains(actions, a) {
			t.Errorf("no rule of the example uses the action %s", a)
		}
	}
}

func containsDot(s string) bool { return strings.Contains(s, ".") }
