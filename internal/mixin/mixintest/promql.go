package mixintest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// MetricNames parses a PromQL expression and returns the metric names its
// selectors name, sorted and without duplicates. A selector without a
// name ({job="x"}) or with a regular expression on __name__ is an error:
// the check could not say what it reads.
func MetricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var problem error
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name == "" && problem == nil {
			problem = fmt.Errorf("selector %s names no metric", vs.String())
		}
		if name != "" {
			seen[name] = true
		}
		return nil
	})
	if problem != nil {
		return nil, problem
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// grafanaVar matches $name, ${name} and ${name:format}.
var grafanaVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\}|\$([A-Za-z0-9_]+)`)

// SubstituteGrafana replaces Grafana's variables in a query with values
// PromQL accepts, so that the query can be parsed: interval variables
// ($__rate_interval, $__interval, $__range, $__range_s, …) by durations
// or numbers, any other variable by a value that fits a label matcher.
func SubstituteGrafana(q string) string {
	return grafanaVar.ReplaceAllStringFunc(q, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1]
		if name == "" {
			name = sub[2]
		}
		switch name {
		case "__rate_interval", "__interval", "__range", "__auto":
			return "5m"
		case "__interval_ms", "__range_ms":
			return "300000"
		case "__range_s":
			return "300"
		}
		return "x"
	})
}

// LabelValuesQuery extracts the series selector of a Grafana template
// variable query label_values(selector, label), or "" when q is a plain
// PromQL query (query_result(...) is unwrapped to its expression).
func LabelValuesQuery(q string) (selector string, isLabelValues bool) {
	q = strings.TrimSpace(q)
	if inner, ok := strings.CutPrefix(q, "query_result("); ok {
		return strings.TrimSuffix(inner, ")"), false
	}
	inner, ok := strings.CutPrefix(q, "label_values(")
	if !ok {
		return q, false
	}
	inner = strings.TrimSuffix(inner, ")")
	i := strings.LastIndex(inner, ",")
	if i < 0 {
		return "", true // label_values(label): every series
	}
	return strings.TrimSpace(inner[:i]), true
}
