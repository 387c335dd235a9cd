// Package config loads, defaults and validates cdc-sentinel's YAML
// configuration. Loading is strict: an unknown key is an error, and every
// error names the offending key and the line it stands on.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file. Each section lives in a file of
// its own in this package, next to its defaults and validation.
type Config struct {
	ConnectClusters []ConnectCluster `yaml:"connect_clusters"`
	Kafka           *Kafka           `yaml:"kafka,omitempty"`
	Databases       []Database       `yaml:"databases,omitempty"`
	Tables          []Table          `yaml:"tables,omitempty"`
	Drift           Drift            `yaml:"drift,omitempty"`
	Remediation     Remediation      `yaml:"remediation,omitempty"`
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates data; name is used in error messages only.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", name, rewriteYAMLError(err))
	}
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s", name, rewriteYAMLError(err))
	}
	cfg.applyDefaults()
	v := &validator{file: name, root: &root}
	cfg.validate(v)
	if err := v.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Config) applyDefaults() {
	for i := range c.ConnectClusters {
		c.ConnectClusters[i].applyDefaults()
	}
	if c.Kafka != nil {
		c.Kafka.applyDefaults()
	}
	for i := range c.Databases {
		c.Databases[i].applyDefaults()
	}
	c.Drift.applyDefaults()
	for i := range c.Tables {
		c.Tables[i].applyDefaults(c.Drift)
	}
	c.Remediation.applyDefaults()
}

func (c *Config) validate(v *validator) {
	seen := map[string]bool{}
	for i := range c.ConnectClusters {
		cc := &c.ConnectClusters[i]
		p := fmt.Sprintf("connect_clusters[%d]", i)
		cc.validate(v, p)
		if cc.Name != "" && seen[cc.Name] {
			v.fail(p+".name", "duplicate connect cluster name %q", cc.Name)
		}
		seen[cc.Name] = true
	}
	if c.Kafka != nil {
		c.Kafka.validate(v, "kafka")
	}
	dbs := map[string]*Database{}
	for i := range c.Databases {
		db := &c.Databases[i]
		p := fmt.Sprintf("databases[%d]", i)
		db.validate(v, p)
		if db.Name != "" && dbs[db.Name] != nil {
			v.fail(p+".name", "duplicate database name %q", db.Name)
		}
		dbs[db.Name] = db
	}
	c.Drift.validate(v, "drift")
	tables := map[string]bool{}
	for i := range c.Tables {
		t := &c.Tables[i]
		p := fmt.Sprintf("tables[%d]", i)
		t.validate(v, p, dbs, c)
		if t.Name != "" && tables[t.Name] {
			v.fail(p+".name", "duplicate table name %q", t.Name)
		}
		tables[t.Name] = true
	}
	c.Remediation.validate(v, "remediation", c)
}

// ConnectCluster returns the cluster with the given name, or nil.
func (c *Config) ConnectCluster(name string) *ConnectCluster {
	for i := range c.ConnectClusters {
		if c.ConnectClusters[i].Name == name {
			return &c.ConnectClusters[i]
		}
	}
	return nil
}

// Database returns the database with the given name, or nil.
func (c *Config) Database(name string) *Database {
	for i := range c.Databases {
		if c.Databases[i].Name == name {
			return &c.Databases[i]
		}
	}
	return nil
}

// Table returns the table with the given name, or nil.
func (c *Config) Table(name string) *Table {
	for i := range c.Tables {
		if c.Tables[i].Name == name {
			return &c.Tables[i]
		}
	}
	return nil
}

// Error is one validation failure, located in the file.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Path, e.Msg)
}

// validator collects every error so a user fixes a file in one pass.
type validator struct {
	file string
	root *yaml.Node
	errs []error
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: locate(v.root, path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error { return errors.Join(v.errs...) }

var pathSegment = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// locate finds the line of the value at path ("a.b[2].c"); where the path
// does not exist (a missing required key) it returns the line of the
// deepest parent that does.
func locate(root *yaml.Node, path string) int {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return 0
	}
	line := n.Line
	for _, m := range pathSegment.FindAllStringSubmatch(path, -1) {
		var next *yaml.Node
		switch {
		case m[1] != "" && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == m[1] {
					next = n.Content[i+1]
					break
				}
			}
		case m[2] != "" && n.Kind == yaml.SequenceNode:
			// m[2] matched \d+, so Atoi cannot fail short of overflow.
			if idx, err := strconv.Atoi(m[2]); err == nil && idx < len(n.Content) {
				next = n.Content[idx]
			}
		}
		if next == nil {
			return line
		}
		n = next
		line = n.Line
	}
	return line
}

var (
	unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type (\S+)`)
	cannotDecode = regexp.MustCompile("line (\\d+): cannot unmarshal !!(\\w+) `(.*)` into (\\S+)")
	wrongKind    = regexp.MustCompile(`line (\d+): cannot unmarshal !!(\w+) into (\S+)`)
)

// rewriteYAMLError turns yaml.v3's Go-flavoured messages into ones that
// speak of keys and values.
func rewriteYAMLError(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		switch {
		case unknownField.MatchString(e):
			m := unknownField.FindStringSubmatch(e)
			msgs = append(msgs, fmt.Sprintf("line %s: unknown key %q", m[1], m[2]))
		case cannotDecode.MatchString(e):
			m := cannotDecode.FindStringSubmatch(e)
			msgs = append(msgs, fmt.Sprintf("line %s: invalid value %q: want %s", m[1], m[3], goTypeToYAML(m[4])))
		case wrongKind.MatchString(e):
			m := wrongKind.FindStringSubmatch(e)
			msgs = append(msgs, fmt.Sprintf("line %s: a %s is not valid here: want %s", m[1], yamlKind(m[2]), goTypeToYAML(m[3])))
		default:
			msgs = append(msgs, e)
		}
	}
	return strings.Join(msgs, "\n")
}

func yamlKind(tag string) string {
	switch tag {
	case "map":
		return "mapping"
	case "seq":
		return "list"
	case "str":
		return "string"
	}
	return tag
}

func goTypeToYAML(t string) string {
	switch {
	case t == "time.Duration":
		return "a duration such as 30s or 5m"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."):
		return "a mapping"
	}
	return t
}
