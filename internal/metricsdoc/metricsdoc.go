// Package metricsdoc builds the metrics reference (docs/metrics.md) from
// the Go sources themselves, so the reference cannot drift from the code:
// every metric is declared with a literal name, help text and label list
// (prometheus.NewDesc or a prometheus.*Opts literal), and this package
// reads those declarations.
package metricsdoc

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Metric is one declared metric.
type Metric struct {
	Name   string
	Type   string
	Help   string
	Labels []string
	File   string
}

// Scan reads every non-test Go file under root (skipping testdata and
// hidden directories) and returns the cdc_* metrics declared there.
func Scan(root string) ([]Metric, error) {
	var out []Metric
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			n := d.Name()
			if path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return fmt.Errorf("parsing %s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		ms, err := scanFile(f, rel)
		if err != nil {
			return err
		}
		out = append(out, ms...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("metric %s declared twice (%s, %s)", out[i].Name, out[i-1].File, out[i].File)
		}
	}
	return out, nil
}

func scanFile(f *ast.File, file string) ([]Metric, error) {
	var out []Metric
	var err error
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || err != nil {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" {
			return true
		}
		var m Metric
		switch fn := sel.Sel.Name; {
		case fn == "NewDesc" && len(call.Args) >= 3:
			m, err = descMetric(call, file)
		case strings.HasPrefix(fn, "New") && len(call.Args) >= 1:
			m, err = optsMetric(call, fn, file)
		}
		if err == nil && strings.HasPrefix(m.Name, "cdc_") {
			out = append(out, m)
		}
		return true
	})
	return out, err
}

// descMetric is the metric a prometheus.NewDesc call declares: a gauge,
// or a counter when its name ends in _total.
func descMetric(call *ast.CallExpr, file string) (Metric, error) {
	name, ok := stringLit(call.Args[0])
	if !ok {
		return Metric{}, fmt.Errorf("%s: prometheus.NewDesc with a name that is not a string literal: write metric names out in full", file)
	}
	help, _ := stringLit(call.Args[1])
	typ := "gauge"
	if strings.HasSuffix(name, "_total") {
		typ = "counter"
	}
	return Metric{Name: name, Type: typ, Help: help, Labels: stringList(call.Args[2]), File: file}, nil
}

// optsMetric is the metric a prometheus.New<Type>[Vec](Opts{…}, labels)
// call declares; none (no Name) for any other New call.
func optsMetric(call *ast.CallExpr, fn, file string) (Metric, error) {
	typ := map[string]string{
		"NewGauge": "gauge", "NewGaugeVec": "gauge", "NewCounter": "counter", "NewCounterVec": "counter",
		"NewHistogram": "histogram", "NewHistogramVec": "histogram", "NewSummary": "summary", "NewSummaryVec": "summary",
	}[fn]
	lit, ok := call.Args[0].(*ast.CompositeLit)
	if typ == "" || !ok {
		return Metric{}, nil
	}
	m := Metric{Type: typ, File: file}
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			continue
		}
		switch key.Name {
		case "Name":
			if m.Name, ok = stringLit(kv.Value); !ok {
				return Metric{}, fmt.Errorf("%s: prometheus.%s with a Name that is not a string literal: write metric names out in full", file, fn)
			}
		case "Help":
			m.Help, _ = stringLit(kv.Value)
		case "Namespace", "Subsystem":
			return Metric{}, fmt.Errorf("%s: prometheus.%s uses %s: write metric names out in full", file, fn, key.Name)
		}
	}
	if len(call.Args) >= 2 {
		m.Labels = stringList(call.Args[1])
	}
	return m, nil
}

// stringLit evaluates a string literal or a + of string literals.
func stringLit(e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(v.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if v.Op != token.ADD {
			return "", false
		}
		a, ok1 := stringLit(v.X)
		b, ok2 := stringLit(v.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return stringLit(v.X)
	}
	return "", false
}

func stringList(e ast.Expr) []string {
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil
	}
	var out []string
	for _, el := range lit.Elts {
		if s, ok := stringLit(el); ok {
			out = append(out, s)
		}
	}
	return out
}

// Render writes the reference as Markdown.
func Render(ms []Metric) string {
	var b strings.Builder
	b.WriteString("# Metrics reference\n\n")
	b.WriteString("Generated from the code by `go run ./internal/metricsdoc/gen` — do not edit by hand;\n")
	b.WriteString("`go test ./internal/metricsdoc` fails when this file is stale.\n\n")
	b.WriteString("Besides these, cdc-sentinel exports `cdc_sentinel_build_info` (version, revision, branch, goversion),\n")
	b.WriteString("and the standard Go (`go_*`) and process (`process_*`) metrics, left out with `--web.disable-exporter-metrics`.\n\n")
	groups := map[string][]Metric{}
	var order []string
	for _, m := range ms {
		g := groupOf(m.Name)
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], m)
	}
	sort.Strings(order)
	for _, g := range order {
		fmt.Fprintf(&b, "## %s\n\n| metric | type | labels | meaning |\n|---|---|---|---|\n", g)
		for _, m := range groups[g] {
			labels := make([]string, len(m.Labels))
			for i, l := range m.Labels {
				labels[i] = "`" + l + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", m.Name, m.Type, strings.Join(labels, ", "), strings.ReplaceAll(m.Help, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// groupOf names the section a metric belongs to, by its subsystem.
func groupOf(name string) string {
	parts := strings.SplitN(strings.TrimPrefix(name, "cdc_"), "_", 2)
	titles := map[string]string{
		"connect": "Kafka Connect", "connector": "Kafka Connect", "table": "Lag", "db": "Databases",
		"sqlserver": "SQL Server capture", "replication": "PostgreSQL replication slots", "dlq": "Dead-letter queues",
		"kafka": "Kafka", "sink": "Sink consumer lag", "vault": "Vault", "drift": "Row drift (sampled)", "reconcile": "Reconcile",
		"remediation": "Remediation", "scrape": "Scrapes", "schema": "Schema drift", "sentinel": "cdc-sentinel itself",
	}
	if t, ok := titles[parts[0]]; ok {
		return t
	}
	return "Other"
}

// WriteFile regenerates the reference at path.
func WriteFile(root, path string) error {
	ms, err := Scan(root)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(Render(ms)), 0o644)
}
