package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

func TestParseConnectorFile(t *testing.T) {
	cases := []struct {
		name, body string
		wantName   string
		want       map[string]string
		err        string
	}{
		{"POST body", `{"name": "s", "config": {"connector.class": "C", "tasks.max": 2, "delete.enabled": true}}`,
			"s", map[string]string{"name": "s", "connector.class": "C", "tasks.max": "2", "delete.enabled": "true"}, ""},
		{"bare config with name", `{"name": "s", "connector.class": "C"}`, "s", map[string]string{"name": "s", "connector.class": "C"}, ""},
		{"bare config takes the file name", `{"connector.class": "C"}`, "orders-sink", map[string]string{"name": "orders-sink", "connector.class": "C"}, ""},
		{"large numbers stay exact", `{"connector.class": "C", "heartbeat.interval.ms": 12345678901234567890}`, "orders-sink",
			map[string]string{"name": "orders-sink", "connector.class": "C", "heartbeat.interval.ms": "12345678901234567890"}, ""},
		{"names disagree", `{"name": "a", "config": {"name": "b", "connector.class": "C"}}`, "", nil, `name "a" and config.name "b" differ`},
		{"config not an object", `{"name": "a", "config": "x"}`, "", nil, `"config" must be an object`},
		{"nested value", `{"connector.class": "C", "topics": ["a"]}`, "", nil, `setting "topics" is a JSON array`},
		{"null value", `{"connector.class": "C", "topics": null}`, "", nil, `setting "topics" is null`},
		{"not JSON", `connector.class=C`, "", nil, "not a JSON object"},
		{"a JSON array", `[1]`, "", nil, "not a JSON object"},
		{"trailing data", `{"connector.class": "C"} {}`, "", nil, "trailing data"},
		{"no class", `{"name": "a", "config": {"topics": "t"}}`, "a", nil, `no "connector.class"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, cfg, err := ParseConnectorFile("/x/orders-sink.json", []byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if tc.wantName != "" && name != tc.wantName {
					t.Errorf("name %q, want %q", name, tc.wantName)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.wantName {
				t.Errorf("name %q, want %q", name, tc.wantName)
			}
			if len(cfg) != len(tc.want) {
				t.Errorf("config %v, want %v", cfg, tc.want)
			}
			for k, v := range tc.want {
				if cfg[k] != v {
					t.Errorf("%s = %q, want %q", k, cfg[k], v)
				}
			}
		})
	}
}

func FuzzParseConnectorFile(f *testing.F) {
	f.Add([]byte(`{"name": "s", "config": {"connector.class": "C", "tasks.max": 2}}`))
	f.Add([]byte(`{"connector.class": "C", "x": null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		name, cfg, err := ParseConnectorFile("f.json", data)
		if err != nil {
			return
		}
		if name == "" || cfg["name"] != name || cfg["connector.class"] == "" {
			t.Fatalf("accepted without a name or class: %q %v", name, cfg)
		}
	})
}

// fakeValidator answers like a worker: an error per listed field.
type fakeValidator struct {
	fieldErrors map[string][]string
	err         error
	got         map[string]string
}

func (f *fakeValidator) Validate(_ context.Context, class string, cfg map[string]string) (*connect.Validation, error) {
	f.got = cfg
	if f.err != nil {
		return nil, f.err
	}
	v := &connect.Validation{Name: class}
	for field, errs := range f.fieldErrors {
		var c connect.ValidatedConfig
		c.Definition.Name = field
		c.Value.Name = field
		c.Value.Errors = errs
		v.Configs = append(v.Configs, c)
		v.ErrorCount += len(errs)
	}
	return v, nil
}

func TestValidateFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sink := write("sink.json", `{"name": "s", "config": {"connector.class": "`+connectorkind.ClassDebeziumJDBC+`", "topics": "a", "insert.mode": "merge", "delete.enabled": "true", "primary.key.mode": "record_value"}}`)
	v := &fakeValidator{fieldErrors: map[string][]string{"errors.tolerance": {"Invalid value x for configuration errors.tolerance"}}}
	res := ValidateFiles(context.Background(), v, []string{sink, filepath.Join(dir, "absent.json")})
	if v.got["name"] != "s" || v.got["connector.class"] != connectorkind.ClassDebeziumJDBC {
		t.Errorf("worker was sent %v", v.got)
	}
	got := map[string]string{}
	for _, fe := range res[0].FieldErrors {
		got[fe.Field] = fe.Source
	}
	want := map[string]string{"errors.tolerance": "worker", "insert.mode": "cdc-sentinel", "delete.enabled": "cdc-sentinel"}
	for f, src := range want {
		if got[f] != src {
			t.Errorf("want %s error on %s; got %+v", src, f, res[0].FieldErrors)
		}
	}
	if res[0].Valid || len(res[0].Advice) == 0 {
		t.Errorf("sink result: %+v", res[0])
	}
	if res[1].Valid || !strings.Contains(res[1].Error, "absent.json") {
		t.Errorf("missing file: %+v", res[1])
	}
	if ValidationExitCode(res) != 1 || ValidationExitCode(res[:0]) != 0 {
		t.Error("exit codes")
	}

	var js bytes.Buffer
	if err := WriteValidationJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Valid bool         `json:"valid"`
		Files []FileResult `json:"files"`
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || decoded.Valid || len(decoded.Files) != 2 {
		t.Errorf("json %v: %s", err, js.String())
	}

	v.err = errors.New("500 Failed to find any class that implements Connector")
	res = ValidateFiles(context.Background(), v, []string{sink})
	if res[0].Valid || !strings.Contains(res[0].Error, "worker refused to validate: 500 Failed to find") {
		t.Errorf("worker error: %+v", res[0])
	}
}

func TestValidTablesHaveNoLocalErrors(t *testing.T) {
	cfg := map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "insert.mode": "UPSERT", "primary.key.mode": "record_key", "delete.enabled": "true", "schema.evolution": "basic"}
	if errs := localFieldErrors("s", cfg); len(errs) != 0 {
		t.Errorf("valid JDBC sink settings flagged: %+v", errs)
	}
	cfg["connector.class"] = "com.example.OtherSink"
	cfg["insert.mode"] = "merge"
	if errs := localFieldErrors("s", cfg); len(errs) != 0 {
		t.Errorf("another connector's settings checked: %+v", errs)
	}
}

// An insert.mode the sink does not know is explained one way: the
// Debezium sink reads it as insert. The field error and the advice used to
// disagree (one said insert, the other said rows are never written).
func TestUnknownInsertModeIsExplainedOneWay(t *testing.T) {
	cfg := map[string]string{"connector.class": connectorkind.ClassDebeziumJDBC, "topics": "a", "insert.mode": "bogus",
		"primary.key.mode": "record_key", "delete.enabled": "true", "schema.evolution": "basic"}
	errs := localFieldErrors("s", cfg)
	if len(errs) != 1 || errs[0].Field != "insert.mode" || !strings.Contains(errs[0].Message, "as insert") {
		t.Fatalf("field errors = %+v, want one on insert.mode saying it is read as insert", errs)
	}
	var advice []string
	for _, f := range StaticFindings("s", cfg) {
		if strings.Contains(f.Message, "insert.mode") {
			advice = append(advice, f.Message)
		}
	}
	if len(advice) != 1 || !strings.Contains(advice[0], "insert.mode=bogus is not a mode the sink knows and is read as insert") {
		t.Errorf("advice on insert.mode = %q, want one saying bogus is read as insert", advice)
	}
	for _, a := range advice {
		if strings.Contains(a, "never written") {
			t.Errorf("advice contradicts the field error: %q", a)
		}
	}
}
