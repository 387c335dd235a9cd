// Package doctor diagnoses a CDC pipeline from its configuration, its
// Kafka Connect clusters, its Kafka cluster and its databases. Each check
// produces findings that say what is wrong and the concrete change that
// fixes it: the connector setting to set, or the SQL to run.
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Severity ranks a finding. Warning and above make the doctor exit 1.
type Severity int

// Severities, from least to most serious.
const (
	Info Severity = iota
	Warning
	Error
)

var severityNames = [...]string{Info: "info", Warning: "warning", Error: "error"}

func (s Severity) String() string {
	if s < Info || s > Error {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the severity's name, so JSON carries "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	for i, n := range severityNames {
		if string(b) == n {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q: want info, warning or error", b)
}

// Check names, as they appear in a finding's check field. They are part of
// the JSON output and so of the public contract.
const (
	CheckConnectUnreachable    = "connect-unreachable"
	CheckKafkaUnreachable      = "kafka-unreachable"
	CheckDatabaseUnreachable   = "database-unreachable"
	CheckConnectorFailed       = "connector-failed"
	CheckConnectorUnassigned   = "connector-unassigned"
	CheckSinkDLQ               = "sink-dlq"
	CheckSinkDLQHeaders        = "sink-dlq-headers"
	CheckSinkErrorsTolerance   = "sink-errors-tolerance"
	CheckSinkConfig            = "sink-config"
	CheckConverter             = "converter"
	CheckDLQTopicMissing       = "dlq-topic-missing"
	CheckSourceHeartbeat       = "source-heartbeat"
	CheckSourceTasksMax        = "source-tasks-max"
	CheckTableNotCaptured      = "table-not-captured"
	CheckWatermarkColumn       = "watermark-column"
	CheckSignal                = "signal"
	CheckNotification          = "notification"
	CheckReplicationSlot       = "replication-slot"
	CheckCDCJobs               = "cdc-jobs"
	CheckSQLServerVersion      = "sqlserver-version"
	CheckTableNotCovered       = "table-not-covered"
	CheckConnectorUnconfigured = "connector-table-not-configured"
	CheckAlertsUnauthenticated = "alerts-unauthenticated"
	// Retention limits that would delete changes before the next stage
	// took them (docs/retention.md#doctor).
	CheckTopicRetention            = "topic-retention"
	CheckSchemaHistoryRetention    = "schema-history-retention"
	CheckSQLServerCleanupRetention = "sqlserver-cleanup-retention"
)

// Finding is one problem, or one fact worth knowing.
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	// Target is what the finding is about, as kind:name, where kind is
	// connector, task, table, database or cluster:
	// "connector:local/demo-sink", "task:local/demo-sink/0",
	// "table:orders", "database:source/demo_slot".
	Target  string `json:"target"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
	// Trace is a failed connector's or task's whole stack trace, for
	// --output=json; Message carries its root cause.
	Trace string `json:"trace,omitempty"`
}

// Target names.
func connectorTarget(cluster, name string) string { return "connector:" + cluster + "/" + name }
func taskTarget(cluster, name string, id int) string {
	return fmt.Sprintf("task:%s/%s/%d", cluster, name, id)
}
func tableTarget(name string) string       { return "table:" + name }
func databaseTarget(name string) string    { return "database:" + name }
func clusterTarget(name string) string     { return "cluster:" + name }
func dbObjectTarget(db, obj string) string { return "database:" + db + "/" + obj }

// Report is the outcome of one doctor run.
type Report struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
}

// Summary counts findings per severity and says what was looked at.
type Summary struct {
	Errors     int `json:"error"`
	Warnings   int `json:"warning"`
	Infos      int `json:"info"`
	Connectors int `json:"connectors_checked"`
	Tables     int `json:"tables_checked"`
	Databases  int `json:"databases_checked"`
}

// newReport sorts the findings, most serious first, and counts them.
func newReport(fs []Finding, connectors, tables, databases int) Report {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Message < b.Message
	})
	if fs == nil {
		fs = []Finding{}
	}
	r := Report{Findings: fs, Summary: Summary{Connectors: connectors, Tables: tables, Databases: databases}}
	for _, f := range fs {
		switch f.Severity {
		case Error:
			r.Summary.Errors++
		case Warning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
	}
	return r
}

// Healthy reports whether nothing is at warning or above.
func (r Report) Healthy() bool { return r.Summary.Errors == 0 && r.Summary.Warnings == 0 }

// ExitCode is 0 when the report is healthy and 1 otherwise.
func (r Report) ExitCode() int {
	if r.Healthy() {
		return 0
	}
	return 1
}

// WriteJSON writes the report as one indented JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for a terminal: one block per finding, the
// fix under it, and a summary line.
func (r Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, "No problems found (%d connectors, %d tables, %d databases checked).\n",
			r.Summary.Connectors, r.Summary.Tables, r.Summary.Databases)
		_, err := w.Write([]byte(b.String()))
		return err
	}
	checkW, targetW := len("CHECK"), len("TARGET")
	for _, f := range r.Findings {
		checkW = max(checkW, len(f.Check))
		targetW = max(targetW, len(f.Target))
	}
	row := fmt.Sprintf("%%-8s %%-%ds %%-%ds %%s\n", checkW, targetW)
	indent := strings.Repeat(" ", 8+1+checkW+1+targetW+1)
	fmt.Fprintf(&b, row, "SEVERITY", "CHECK", "TARGET", "MESSAGE")
	for _, f := range r.Findings {
		fmt.Fprintf(&b, row, strings.ToUpper(f.Severity.String()), f.Check, f.Target, f.Message)
		if f.Fix != "" {
			lines := strings.Split(f.Fix, "\n")
			fmt.Fprintf(&b, "%sfix: %s\n", indent, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(&b, "%s     %s\n", indent, l)
			}
		}
	}
	fmt.Fprintf(&b, "\n%d errors, %d warnings, %d info (%d connectors, %d tables, %d databases checked).\n",
		r.Summary.Errors, r.Summary.Warnings, r.Summary.Infos, r.Summary.Connectors, r.Summary.Tables, r.Summary.Databases)
	_, err := w.Write([]byte(b.String()))
	return err
}
