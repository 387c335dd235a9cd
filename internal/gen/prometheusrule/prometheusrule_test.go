package prometheusrule

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type generated struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string           `yaml:"name"`
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	} `yaml:"spec"`
}

func generate(t *testing.T, srcs ...Source) generated {
	t.Helper()
	out, err := Generate(srcs, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	var g generated
	if err := yaml.Unmarshal(out, &g); err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	if g.Kind != "PrometheusRule" || g.Metadata.Name != "cdc-sentinel" {
		t.Errorf("kind %q name %q", g.Kind, g.Metadata.Name)
	}
	return g
}

func TestGenerateJoinsGroupsInFileOrder(t *testing.T) {
	g := generate(t,
		Source{"rules/a.yml", []byte("groups:\n  - name: a1\n    rules:\n      - alert: A\n        expr: up == 0\n  - name: a2\n    rules: []\n")},
		Source{"rules/b.yml", []byte("# only a comment\ngroups:\n  - name: b1\n    rules:\n      - record: x:y\n        expr: sum(up)\n")},
	)
	var names []string
	for _, gr := range g.Spec.Groups {
		names = append(names, gr.Name)
	}
	if strings.Join(names, ",") != "a1,a2,b1" {
		t.Errorf("groups %v, want a1,a2,b1", names)
	}
	if g.Spec.Groups[0].Rules[0]["alert"] != "A" || g.Spec.Groups[2].Rules[0]["record"] != "x:y" {
		t.Errorf("rules not carried over: %+v", g.Spec.Groups)
	}
}

func TestGenerateWithNoRulesIsAValidEmptyResource(t *testing.T) {
	for _, srcs := range [][]Source{nil, {{"rules/empty.yml", nil}}, {{"rules/null.yml", []byte("groups:\n")}}} {
		out, err := Generate(srcs, DefaultOptions)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "groups: []") {
			t.Errorf("output for %d files lacks an empty group list:\n%s", len(srcs), out)
		}
		generate(t, srcs...)
	}
}

func TestGenerateErrors(t *testing.T) {
	cases := []struct {
		name string
		srcs []Source
		want string
	}{
		{"duplicate group", []Source{
			{"rules/a.yml", []byte("groups:\n  - name: g\n    rules: []\n")},
			{"rules/b.yml", []byte("groups:\n  - name: x\n    rules: []\n  - name: g\n    rules: []\n")}},
			`rules/b.yml:4: rule group "g" is also defined in rules/a.yml`},
		{"not yaml", []Source{{"rules/bad.yml", []byte("groups: [\n")}}, "rules/bad.yml: yaml:"},
		{"unknown top-level key", []Source{{"rules/tests.yml", []byte("rule_files: [a.yml]\ntests: []\n")}},
			`rules/tests.yml:1: not a Prometheus rule file: unexpected top-level key "rule_files"`},
		{"a list at the top", []Source{{"rules/list.yml", []byte("- a\n")}}, "rules/list.yml: not a Prometheus rule file: the top level is not a mapping"},
		{"groups not a list", []Source{{"rules/g.yml", []byte("groups: {a: 1}\n")}}, "rules/g.yml:1: groups is not a list"},
		{"group without a name", []Source{{"rules/n.yml", []byte("groups:\n  - rules: []\n")}}, "rules/n.yml:2: a rule group has no name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(tc.srcs, DefaultOptions)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	src := Source{"rules/a.yml", []byte("groups:\n  - name: a\n    rules:\n      - alert: A # why\n        expr: up == 0\n")}
	a, _ := Generate([]Source{src}, DefaultOptions)
	b, _ := Generate([]Source{src}, DefaultOptions)
	if string(a) != string(b) {
		t.Error("two runs differ")
	}
	if !strings.Contains(string(a), "# why") {
		t.Errorf("comments dropped:\n%s", a)
	}
}
