package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/testenv"
)

// A whole /metrics answer from the binary watching the real pipeline —
// every collector with something to report — passes promtool's checks
// (naming, units, counters, HELP), not just the connect collector's golden
// file.
func TestWholeExpositionPassesPromtoolCheckMetrics(t *testing.T) {
	p := testenv.Need(t)
	tool := testenv.Promtool(t)
	cfg := writeFile(t, t.TempDir(), "c.yml", `connect_clusters:
  - {name: local, url: `+p.ConnectURL+`}
kafka: {brokers: [`+p.KafkaBrokers+`]}
databases:
  - {name: source, driver: postgres, dsn: '`+p.SourceDSN+`'}
  - {name: target, driver: postgres, dsn: '`+p.TargetDSN+`'}
tables:
  - name: customers
    source: {database: source, table: inventory.customers}
    target: {database: target, table: public.customers}
    source_timestamp_column: updated_at
remediation:
  rules:
    - {name: restart, match: ['alertname="CDCConnectorTaskFailed"'], action: restart_task}
`)
	s := startServer(t, "--config.file="+cfg)
	code, body := get(t, "http://"+s.addr+"/metrics", "X-Prometheus-Scrape-Timeout-Seconds", "10")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{"cdc_connect_up", "cdc_db_up", "cdc_table_lag_seconds", "cdc_dlq_records_total", "cdc_replication_slot_lag_bytes", "cdc_drift_rows_checked_total", "cdc_remediation_actions_total"} {
		if !strings.Contains(body, want+"{") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.WriteFile(t.TempDir()+"/metrics.txt", []byte(body), 0o644)
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
