// Package mixin renders the cdc-sentinel monitoring mixin (mixin/, in
// jsonnet) into the files users load as they are: the Prometheus rule
// files of rules/, the Grafana dashboards of dashboards/ and the
// PrometheusRule of deploy/kubernetes/. The mixin is the one source; the
// files are committed so that nobody needs jsonnet, and a test fails when
// they are stale.
package mixin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-jsonnet"
	"gopkg.in/yaml.v3"

	"github.com/cdc-sentinel/cdc-sentinel/internal/gen/prometheusrule"
)

// render is evaluated with the mixin directory on the import path. The
// optional alerts are rendered from the mixin's own definition, so that
// the file in rules/optional/ is what _config would switch on.
const render = `
local m = (import 'mixin.libsonnet') + { _config+:: std.parseJson(std.extVar('config')) };
{
  alerts: m.prometheusAlerts,
  recording: m.prometheusRules,
  stopped: { groups: [m.optionalAlerts.stopped] },
  dashboards: m.grafanaDashboards,
}
`

// ruleFiles are the rule files generated, by the field of render that
// holds them, with the header that tells users how to load them.
var ruleFiles = []struct {
	field, path, header string
}{
	{"alerts", "rules/cdc-sentinel.alerts.yml", `# cdc-sentinel alerting rules. Load with the recording rules:
#
#   rule_files: [/etc/prometheus/rules/cdc-sentinel.*.yml]
#
# Thresholds and for: durations are the mixin's defaults; change them in
# your own _config (mixin/config.libsonnet lists them all, and
# docs/runbooks.md what each means), or edit this file by hand if you do
# not use jsonnet. Why each rule is written as it is: mixin/alerts/.
`},
	{"recording", "rules/cdc-sentinel.recording.yml", `# cdc-sentinel recording rules: the aggregations the dashboards' overview
# panels use, precomputed so that a wall screen refreshing every few seconds
# does not rescan every connector's series. Names follow
# level:metric:operations; like the alerts they take the max across
# cdc-sentinel replicas before summing (mixin/rules/).
`},
	{"stopped", "rules/optional/cdc-sentinel.stopped.yml", `# Optional cdc-sentinel alert: load it only if a STOPPED connector is
# something you want to be told about (or set connectorStoppedAlert in the
# mixin's _config). STOPPED (Kafka 3.5+) is a deliberate state: the
# connector is shut down, holds no tasks and keeps its offsets, so
# rules/cdc-sentinel.alerts.yml does not alert on it.
#
#   rule_files: [/etc/prometheus/rules/optional/cdc-sentinel.stopped.yml]
`},
}

const generatedBy = "# Code generated from mixin/ by make generate; DO NOT EDIT.\n"

// PrometheusRulePath is where the PrometheusRule resource goes; it holds
// the rule files directly in rules/ (the optional ones are left out).
const PrometheusRulePath = "deploy/kubernetes/prometheusrule.yaml"

// Render evaluates the mixin in root/mixin and returns every generated
// file, keyed by its path relative to root.
func Render(root string) (map[string][]byte, error) {
	return RenderWith(root, nil)
}

// RenderWith renders the mixin with config merged into its _config, as a
// user's override would be (e.g. {"connectorFailedFor": "30s"}).
func RenderWith(root string, config map[string]any) (map[string][]byte, error) {
	if config == nil {
		config = map[string]any{}
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("mixin config: %w", err)
	}
	vm := jsonnet.MakeVM()
	vm.ExtVar("config", string(cfg))
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{filepath.Join(root, "mixin")}})
	out, err := vm.EvaluateAnonymousSnippet("render.jsonnet", render)
	if err != nil {
		return nil, fmt.Errorf("evaluating the mixin: %w", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("decoding the mixin's output: %w", err)
	}
	files := map[string][]byte{}
	var sources []prometheusrule.Source
	for _, rf := range ruleFiles {
		b, err := ruleYAML(doc[rf.field])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rf.path, err)
		}
		files[rf.path] = append([]byte(generatedBy+rf.header), b...)
		if filepath.Dir(rf.path) == "rules" {
			sources = append(sources, prometheusrule.Source{Name: rf.path, Data: files[rf.path]})
		}
	}
	sort.Slice(sources, func(i, j int) bool { return sources[i].Name < sources[j].Name })
	pr, err := prometheusrule.Generate(sources, prometheusrule.DefaultOptions)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PrometheusRulePath, err)
	}
	files[PrometheusRulePath] = pr

	var dashboards map[string]json.RawMessage
	if err := json.Unmarshal(doc["dashboards"], &dashboards); err != nil {
		return nil, fmt.Errorf("grafanaDashboards: %w", err)
	}
	for name, raw := range dashboards {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", name, err)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", name, err)
		}
		files["dashboards/"+name] = b.Bytes()
	}
	return files, nil
}

// keyOrder is the order keys are written in, as in hand-written rule
// files; other keys follow in alphabetical order.
var keyOrder = []string{"groups", "name", "interval", "rules", "alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations", "summary", "description", "runbook_url"}

// ruleYAML writes a rule file's JSON as YAML in the usual layout:
// keys in keyOrder, multi-line expressions as literal blocks.
func ruleYAML(raw json.RawMessage) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(node(v)); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func node(v any) *yaml.Node {
	switch x := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		rank := func(k string) int {
			for i, o := range keyOrder {
				if o == k {
					return i
				}
			}
			return len(keyOrder)
		}
		sort.Slice(keys, func(i, j int) bool {
			ri, rj := rank(keys[i]), rank(keys[j])
			if ri != rj {
				return ri < rj
			}
			return keys[i] < keys[j]
		})
		for _, k := range keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, node(x[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range x {
			n.Content = append(n.Content, node(e))
		}
		return n
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
		if strings.Contains(x, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(x)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(x)}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}
