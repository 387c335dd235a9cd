package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// Validator validates a connector configuration on a live worker
// (connect.Client does, with PUT /connector-plugins/{class}/config/validate).
type Validator interface {
	Validate(ctx context.Context, class string, cfg map[string]string) (*connect.Validation, error)
}

// FileResult is the verdict on one connector configuration file.
type FileResult struct {
	File      string `json:"file"`
	Connector string `json:"connector,omitempty"`
	Class     string `json:"class,omitempty"`
	Valid     bool   `json:"valid"`
	// Error is set when the file could not be read or parsed, or the
	// worker refused to validate it; FieldErrors are then empty.
	Error       string       `json:"error,omitempty"`
	FieldErrors []FieldError `json:"field_errors"`
	// Advice are the doctor's findings about the configuration (dead
	// letter queue, heartbeat, ...); they do not make a file invalid.
	Advice []Finding `json:"advice"`
}

// FieldError is one setting the configuration gets wrong.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Source is "worker" for Connect's own validation and "cdc-sentinel"
	// for values the worker accepts but the connector rejects at start.
	Source string `json:"source"`
}

// ParseConnectorFile reads a connector configuration in either shape Kafka
// Connect takes: the body of POST /connectors ({"name", "config"}) or the
// bare configuration of PUT /connectors/{name}/config. Numbers and
// booleans become the strings Connect expects. A configuration without a
// name takes the file's base name.
func ParseConnectorFile(path string, data []byte) (name string, cfg map[string]string, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return "", nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", nil, errors.New("trailing data after the JSON object")
	}
	body := top
	if inner, ok := top["config"]; ok {
		obj, isObj := inner.(map[string]any)
		if !isObj {
			return "", nil, errors.New(`"config" must be an object of settings`)
		}
		body = obj
		if n, ok := top["name"].(string); ok {
			name = n
		}
	}
	cfg = make(map[string]string, len(body))
	for k, v := range body {
		switch x := v.(type) {
		case string:
			cfg[k] = x
		case json.Number:
			cfg[k] = x.String()
		case bool:
			cfg[k] = fmt.Sprint(x)
		case nil:
			return "", nil, fmt.Errorf("setting %q is null: remove it or give it a value", k)
		default:
			return "", nil, fmt.Errorf("setting %q is a JSON %s: Connect settings are strings", k, jsonKind(v))
		}
	}
	switch {
	case name == "" && cfg["name"] != "":
		name = cfg["name"]
	case name == "":
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	if cfg["name"] == "" {
		cfg["name"] = name
	} else if cfg["name"] != name {
		return "", nil, fmt.Errorf("name %q and config.name %q differ: Connect rejects the connector", name, cfg["name"])
	}
	if cfg["connector.class"] == "" {
		return name, cfg, errors.New(`no "connector.class": the worker cannot tell which plugin validates it`)
	}
	return name, cfg, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// ValidateFiles validates each file on the worker and adds cdc-sentinel's
// own checks. It never stops at a bad file: every file gets a verdict.
func ValidateFiles(ctx context.Context, v Validator, paths []string) []FileResult {
	out := make([]FileResult, 0, len(paths))
	for _, p := range paths {
		out = append(out, validateFile(ctx, v, p))
	}
	return out
}

func validateFile(ctx context.Context, v Validator, path string) FileResult {
	res := FileResult{File: path, FieldErrors: []FieldError{}, Advice: []Finding{}}
	data, err := os.ReadFile(path)
	if err != nil {
		res.Error = "cannot read: " + err.Error()
		return res
	}
	name, cfg, err := ParseConnectorFile(path, data)
	res.Connector = name
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Class = cfg["connector.class"]
	val, err := v.Validate(ctx, res.Class, cfg)
	if err != nil {
		res.Error = "worker refused to validate: " + err.Error()
		return res
	}
	for _, c := range val.Configs {
		for _, msg := range c.Value.Errors {
			field := c.Value.Name
			if field == "" {
				field = c.Definition.Name
			}
			res.FieldErrors = append(res.FieldErrors, FieldError{Field: field, Message: msg, Source: "worker"})
		}
	}
	res.FieldErrors = append(res.FieldErrors, localFieldErrors(name, cfg)...)
	sort.SliceStable(res.FieldErrors, func(i, j int) bool { return res.FieldErrors[i].Field < res.FieldErrors[j].Field })
	res.Advice = append(res.Advice, StaticFindings(name, cfg)...)
	res.Valid = len(res.FieldErrors) == 0
	return res
}

// localFieldErrors are values the worker accepts but the connector
// refuses or misreads.
func localFieldErrors(name string, cfg map[string]string) []FieldError {
	c := connectorkind.New(name, "", cfg)
	if !c.Kind().IsJDBCSink() {
		return nil
	}
	var out []FieldError
	for _, e := range c.Kind().UncheckedEnums() {
		v, ok := cfg[e.Key]
		if !ok {
			continue
		}
		valid := false
		for _, allowed := range e.Values {
			valid = valid || strings.EqualFold(strings.TrimSpace(v), allowed)
		}
		if !valid {
			out = append(out, FieldError{Field: e.Key, Source: "cdc-sentinel",
				Message: fmt.Sprintf("invalid value %q: must be one of %s (%s)", v, strings.Join(e.Values, ", "), e.Effect)})
		}
	}
	// Both sinks refuse to start with deletes on and any other key mode.
	if c.DeleteEnabled() && c.KeyMode() != "record_key" {
		out = append(out, FieldError{Field: connectorkind.KeyDeleteEnabled, Source: "cdc-sentinel",
			Message: fmt.Sprintf("delete.enabled=true needs %s=record_key (it is %s); the %s refuses to start", c.KeyModeSetting(), c.KeyMode(), c.Kind())})
	}
	return out
}

// ValidationExitCode is 0 when every file is valid and 1 otherwise.
func ValidationExitCode(results []FileResult) int {
	for _, r := range results {
		if !r.Valid {
			return 1
		}
	}
	return 0
}

// WriteValidationJSON writes the results as {"files": [...], "valid": bool}.
func WriteValidationJSON(w io.Writer, results []FileResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Valid bool         `json:"valid"`
		Files []FileResult `json:"files"`
	}{ValidationExitCode(results) == 0, results})
}

// WriteValidationTable writes one block per file: its verdict, each field
// error as "field: message", then the advice.
func WriteValidationTable(w io.Writer, results []FileResult) error {
	var b strings.Builder
	invalid := 0
	for _, r := range results {
		what := r.Class
		if r.Connector != "" {
			what = fmt.Sprintf("connector %s, %s", r.Connector, r.Class)
		}
		switch {
		case r.Error != "":
			invalid++
			fmt.Fprintf(&b, "%s: INVALID: %s\n", r.File, r.Error)
		case !r.Valid:
			invalid++
			fmt.Fprintf(&b, "%s: INVALID (%s): %d error(s)\n", r.File, what, len(r.FieldErrors))
		default:
			fmt.Fprintf(&b, "%s: valid (%s)\n", r.File, what)
		}
		for _, fe := range r.FieldErrors {
			fmt.Fprintf(&b, "  %s: %s\n", fe.Field, fe.Message)
		}
		for _, a := range r.Advice {
			fmt.Fprintf(&b, "  %s [%s]: %s\n    fix: %s\n", a.Severity, a.Check, a.Message, a.Fix)
		}
	}
	fmt.Fprintf(&b, "%d of %d file(s) valid\n", len(results)-invalid, len(results))
	_, err := io.WriteString(w, b.String())
	return err
}
