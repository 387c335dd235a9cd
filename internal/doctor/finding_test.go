package doctor

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSeverityText(t *testing.T) {
	for _, s := range []Severity{Info, Warning, Error} {
		b, _ := s.MarshalText()
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%s round trip: %v %v", s, back, err)
		}
	}
	var s Severity
	if err := s.UnmarshalText([]byte("fatal")); err == nil || !strings.Contains(err.Error(), `unknown severity "fatal"`) {
		t.Errorf("err = %v", err)
	}
}

func TestReportOrderAndExitCode(t *testing.T) {
	r := newReport([]Finding{
		{Check: "b", Severity: Info, Target: "t:1"},
		{Check: "z", Severity: Warning, Target: "t:1"},
		{Check: "a", Severity: Error, Target: "t:2"},
		{Check: "a", Severity: Error, Target: "t:1"},
	}, 3, 2, 1)
	var order []string
	for _, f := range r.Findings {
		order = append(order, f.Check+"/"+f.Target)
	}
	if got := strings.Join(order, " "); got != "a/t:1 a/t:2 z/t:1 b/t:1" {
		t.Errorf("order %s", got)
	}
	if r.Summary.Errors != 2 || r.Summary.Warnings != 1 || r.Summary.Infos != 1 || r.ExitCode() != 1 {
		t.Errorf("summary %+v exit %d", r.Summary, r.ExitCode())
	}
	if info := newReport([]Finding{{Severity: Info}}, 0, 0, 0); info.ExitCode() != 0 {
		t.Error("info alone must exit 0")
	}
}

func TestReportRendering(t *testing.T) {
	r := newReport([]Finding{
		{Check: CheckSinkDLQ, Severity: Error, Target: "connector:c/s", Message: "no DLQ", Fix: "set x=y"},
		{Check: CheckSignal, Severity: Warning, Target: "table:orders", Message: "no signal", Fix: "add:\n  signal:\n    connector: src"},
	}, 2, 1, 0)
	var tbl bytes.Buffer
	if err := r.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	want := `SEVERITY CHECK    TARGET        MESSAGE
ERROR    sink-dlq connector:c/s no DLQ
                                fix: set x=y
WARNING  signal   table:orders  no signal
                                fix: add:
                                       signal:
                                         connector: src

1 errors, 1 warnings, 0 info (2 connectors, 1 tables, 0 databases checked).
`
	if tbl.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", tbl.String(), want)
	}

	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != 2 || back.Findings[0].Severity != Error || !strings.Contains(js.String(), `"severity": "warning"`) {
		t.Errorf("json: %s", js.String())
	}

	var empty bytes.Buffer
	newReport(nil, 2, 2, 2).WriteTable(&empty)
	if !strings.HasPrefix(empty.String(), "No problems found") {
		t.Errorf("empty: %q", empty.String())
	}
	js.Reset()
	newReport(nil, 0, 0, 0).WriteJSON(&js)
	if !strings.Contains(js.String(), `"findings": []`) {
		t.Errorf("an empty report must have an empty findings list, not null: %s", js.String())
	}
}
