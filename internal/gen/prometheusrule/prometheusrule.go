// Package prometheusrule turns the Prometheus rule files of rules/ into
// one PrometheusRule resource for the Prometheus Operator, so that the
// Kubernetes manifests ship exactly the rules that promtool tests. The
// output is deterministic: files in name order, groups in file order,
// comments kept.
package prometheusrule

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options name the generated resource.
type Options struct {
	Name      string
	Namespace string
	// Labels go on the resource's metadata; a ServiceMonitor-style
	// ruleSelector on the Prometheus resource picks rules by them.
	Labels map[string]string
	// Command is how to regenerate, for the header.
	Command string
}

// DefaultOptions are the names the manifests in deploy/kubernetes use.
var DefaultOptions = Options{
	Name:      "cdc-sentinel",
	Namespace: "cdc-sentinel",
	Labels:    map[string]string{"app.kubernetes.io/name": "cdc-sentinel", "app.kubernetes.io/component": "rules"},
	Command:   "make generate",
}

// Source is one rule file's name and content.
type Source struct {
	Name string
	Data []byte
}

// Generate builds the PrometheusRule from rule files. Each must be a
// Prometheus rule file (a mapping with a groups list); group names must be
// unique across files, as they are within one Prometheus rule file.
func Generate(srcs []Source, opts Options) ([]byte, error) {
	groups := &yaml.Node{Kind: yaml.SequenceNode}
	seen := map[string]string{}
	for _, src := range srcs {
		list, err := ruleGroups(src)
		if err != nil {
			return nil, err
		}
		for _, g := range list {
			name := groupName(g)
			if name == "" {
				return nil, fmt.Errorf("%s:%d: a rule group has no name", src.Name, g.Line)
			}
			if prev, dup := seen[name]; dup {
				return nil, fmt.Errorf("%s:%d: rule group %q is also defined in %s", src.Name, g.Line, name, prev)
			}
			seen[name] = src.Name
			groups.Content = append(groups.Content, g)
		}
	}
	if len(groups.Content) == 0 {
		groups.Style = yaml.FlowStyle // "groups: []", a valid empty spec
	}

	labels := &yaml.Node{Kind: yaml.MappingNode}
	keys := make([]string, 0, len(opts.Labels))
	for k := range opts.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		labels.Content = append(labels.Content, str(k), str(opts.Labels[k]))
	}
	meta := mapping("name", str(opts.Name))
	if opts.Namespace != "" {
		meta.Content = append(meta.Content, str("namespace"), str(opts.Namespace))
	}
	if len(labels.Content) > 0 {
		meta.Content = append(meta.Content, str("labels"), labels)
	}
	res := mapping(
		"apiVersion", str("monitoring.coreos.com/v1"),
		"kind", str("PrometheusRule"),
		"metadata", meta,
		"spec", mapping("groups", groups),
	)
	var names []string
	for _, s := range srcs {
		names = append(names, s.Name)
	}
	res.HeadComment = fmt.Sprintf("Code generated from %s by %s; DO NOT EDIT.\nA test fails when this file no longer matches rules/.", listOrNone(names), opts.Command)

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{res}}); err != nil {
		return nil, fmt.Errorf("encoding PrometheusRule: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding PrometheusRule: %w", err)
	}
	return b.Bytes(), nil
}

// ruleGroups are the groups of a Prometheus rule file; none for an
// empty file or an empty groups key.
func ruleGroups(src Source) ([]*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src.Data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file holds no rules
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a Prometheus rule file: the top level is not a mapping", src.Name)
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		key := root.Content[i].Value
		if key != "groups" {
			return nil, fmt.Errorf("%s:%d: not a Prometheus rule file: unexpected top-level key %q", src.Name, root.Content[i].Line, key)
		}
		list = root.Content[i+1]
	}
	if list == nil || list.Tag == "!!null" {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: groups is not a list", src.Name, list.Line)
	}
	return list.Content, nil
}

func groupName(g *yaml.Node) string {
	if g.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(g.Content); i += 2 {
		if g.Content[i].Value == "name" {
			return g.Content[i+1].Value
		}
	}
	return ""
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "an empty rules directory"
	}
	return strings.Join(names, ", ")
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}
