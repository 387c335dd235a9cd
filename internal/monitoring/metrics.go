// Package monitoring checks the monitoring package (rules/ and
// dashboards/) against the code: which metric names cdc-sentinel exports,
// and which names a PromQL expression uses. The rule and dashboard tests
// use it so that a renamed metric breaks the build instead of an alert.
package monitoring

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metricName is what a cdc-sentinel metric name looks like in a literal.
var metricName = regexp.MustCompile(`^cdc_[a-z0-9_]*[a-z0-9]$`)

// Exported is the set of metric names cdc-sentinel exposes, as a
// Prometheus query sees them (histograms with _bucket, _sum and _count).
type Exported map[string]bool

// Names lists the set, sorted.
func (e Exported) Names() []string {
	out := make([]string, 0, len(e))
	for n := range e {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ExportedMetrics collects the metric names cdc-sentinel exports by reading
// the Go sources under root (the module root), test files and testdata
// aside:
//   - every string literal that is a whole cdc_… name (prometheus.NewDesc,
//     CounterOpts{Name: …}, …);
//   - histograms and summaries (HistogramOpts, SummaryOpts, or a NewDesc in
//     a file that builds const histograms) also with _bucket/_sum/_count;
//   - versioncollector.NewCollector("x") as x_build_info;
//   - the Go and process collectors' names, from the collectors themselves.
//
// Reading sources rather than scraping a running binary finds the metrics
// that only appear when their feature is configured or has something to
// report.
func ExportedMetrics(root string) (Exported, error) {
	out := Exported{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(src), `"cdc_`) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return fmt.Errorf("parsing %s: %w", path, err)
		}
		addFileMetrics(out, f, strings.Contains(string(src), "ConstHistogram"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collecting metric names under %s: %w", root, err)
	}
	for _, n := range runtimeCollectorNames() {
		out[n] = true
	}
	return out, nil
}

func addFileMetrics(out Exported, f *ast.File, constHistograms bool) {
	histogram := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			typ := typeName(n.Type)
			if typ != "HistogramOpts" && typ != "SummaryOpts" {
				return true
			}
			for _, el := range n.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
					if s, ok := stringLit(kv.Value); ok {
						histogram[s] = true
					}
				}
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewCollector" && len(n.Args) == 1 {
				if s, ok := stringLit(n.Args[0]); ok && metricName.MatchString(s) {
					out[s+"_build_info"] = true
				}
			}
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && len(n.Args) > 0 && constHistograms {
				if s, ok := stringLit(n.Args[0]); ok && strings.HasSuffix(s, "_seconds") {
					histogram[s] = true
				}
			}
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil || !metricName.MatchString(s) {
			return true
		}
		out[s] = true
		if histogram[s] {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				out[s+suffix] = true
			}
		}
		return true
	})
}

func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// runtimeCollectorNames are the metrics of the Go and process collectors
// that the server registers, gathered from the collectors themselves.
func runtimeCollectorNames() []string {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Gather fails for the process collector where /proc is missing; the
	// families gathered are still returned.
	mfs, _ := reg.Gather()
	var out []string
	for _, mf := range mfs {
		name := mf.GetName()
		out = append(out, name)
		switch mf.GetType().String() {
		case "HISTOGRAM", "GAUGE_HISTOGRAM":
			out = append(out, name+"_bucket", name+"_sum", name+"_count")
		case "SUMMARY":
			out = append(out, name+"_sum", name+"_count")
		}
	}
	return out
}
