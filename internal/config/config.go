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
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// Config is the whole configuration file. Each section lives in a file of
// its own in this package, next to its defaults and validation.
type Config struct {
	ConnectClusters []ConnectCluster `yaml:"connect_clusters"`
	Kafka           *Kafka           `yaml:"kafka,omitempty"`
	Databases       []Database       `yaml:"databases,omitempty"`
	Tables          []Table          `yaml:"tables,omitempty"`
	Drift           Drift            `yaml:"drift,omitempty"`
	SchemaCheck     SchemaCheck      `yaml:"schema_check,omitempty"`
	Remediation     Remediation      `yaml:"remediation,omitempty"`
	Reconcile       Reconcile        `yaml:"reconcile,omitempty"`
	Tracing         *Tracing         `yaml:"tracing,omitempty"`
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", readError{err})
	}
	return Parse(path, data)
}

// Parse decodes and validates data; name is used in error messages only.
// Every problem found is reported, each with its line and key path: wrong
// types and unknown keys first, then what validation finds in the rest.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, data, err)
	}
	v := &validator{file: name, root: &root}
	if isEmpty(&root) {
		v.fail("", "nothing to watch: the file is empty; configure connect_clusters, kafka or databases")
		return nil, v.err()
	}
	v.skip = v.checkTypes(&root)
	typeErrs := len(v.errs)
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		}
		if typeErrs == 0 {
			// checkTypes let through something the decoder refuses. Say
			// where; never what, as the decoder's message quotes part of
			// the value.
			for _, e := range te.Errors {
				v.errs = append(v.errs, &Error{File: name, Line: decoderLine(e), Msg: "a value does not fit its key"})
			}
		}
	}
	cfg.expandFilePaths(v)
	cfg.applyDefaults()
	cfg.validate(v)
	if err := v.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// isEmpty is true for a file with nothing but comments, or an empty mapping.
func isEmpty(root *yaml.Node) bool {
	if root.Kind == 0 || len(root.Content) == 0 {
		return true
	}
	n := root.Content[0]
	return (n.Kind == yaml.MappingNode && len(n.Content) == 0) || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

var decoderLineRe = regexp.MustCompile(`^line (\d+):`)

func decoderLine(msg string) int {
	if m := decoderLineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
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
	c.SchemaCheck.applyDefaults()
	for i := range c.Tables {
		c.Tables[i].applyDefaults(c.Drift)
	}
	c.Remediation.applyDefaults()
	c.Reconcile.applyDefaults()
	if c.Tracing != nil {
		c.Tracing.applyDefaults()
	}
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
	c.SchemaCheck.validate(v, "schema_check")
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
	c.Reconcile.validate(v, "reconcile")
	if c.Tracing != nil {
		c.Tracing.validate(v, "tracing")
	}
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

// ErrInvalid matches (errors.Is) every error Load and Parse return: the
// file could not be read or is not a valid configuration. Commands tell a
// configuration error from a failed operation by it.
var ErrInvalid = errors.New("invalid configuration")

type readError struct{ error }

func (e readError) Unwrap() error        { return e.error }
func (e readError) Is(target error) bool { return target == ErrInvalid }

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Error is one validation failure, located in the file.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Path == "" {
		return fmt.Sprintf("%s: %s", where, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Path, e.Msg)
}

// validator collects every error so a user fixes a file in one pass.
type validator struct {
	file string
	root *yaml.Node
	errs []error
	// skip holds the paths whose values were of the wrong type: they were
	// reported already, and validation would only call them missing.
	skip map[string]bool
	// nodes counts the values checkTypes visited, aliases expanded.
	nodes int
}

func (v *validator) fail(path, format string, args ...any) {
	v.failAt(locate(v.root, path), path, format, args...)
}

func (v *validator) failAt(line int, path, format string, args ...any) {
	for p := range v.skip {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") || path == parentPath(p) {
			return
		}
	}
	// Redacted before quoting (%q would escape what Redact looks for)
	// and after: a message never shows a credential, whatever form a
	// user wrote it in.
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = dsn.Redact(s)
		}
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Path: path, Msg: dsn.Redact(fmt.Sprintf(format, args...))})
}

// parentPath is the mapping holding a key ("a.b[2]" for "a.b[2].c"). An
// error about a mapping as a whole ("exactly one of token and
// token_file") is not reported when one of its keys could not be read:
// the key's own error says what to fix.
func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i > 0 && p[i] == '.' {
		return p[:i]
	}
	return ""
}

// err joins the errors in the order of the file's lines.
func (v *validator) err() error {
	sort.SliceStable(v.errs, func(i, j int) bool { return errLine(v.errs[i]) < errLine(v.errs[j]) })
	return errors.Join(v.errs...)
}

func errLine(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Line
	}
	return 0
}

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
