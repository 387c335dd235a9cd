package metricsdoc

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

const root = "../.."

func TestMetricsReferenceIsCurrent(t *testing.T) {
	ms, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	want := Render(ms)
	got, err := os.ReadFile(root + "/docs/metrics.md")
	if err != nil {
		t.Fatalf("%v: run go run ./internal/metricsdoc/gen", err)
	}
	if string(got) != want {
		t.Errorf("docs/metrics.md is stale: run go run ./internal/metricsdoc/gen")
	}
}

// The contract metrics the issues spell out must exist, with their labels.
func TestContractMetricsExist(t *testing.T) {
	ms, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Metric{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	for name, labels := range map[string]string{
		"cdc_connect_up":                             "connect_cluster",
		"cdc_connect_connector_state":                "connect_cluster,connector,state",
		"cdc_connect_task_state":                     "connect_cluster,connector,task,state",
		"cdc_connect_connector_info":                 "connect_cluster,connector,type,class",
		"cdc_connect_task_info":                      "connect_cluster,connector,task,worker",
		"cdc_scrape_collector_success":               "collector",
		"cdc_scrape_collector_duration_seconds":      "collector",
		"cdc_sentinel_config_last_reload_successful": "",
	} {
		m, ok := byName[name]
		if !ok {
			t.Errorf("%s is not declared", name)
			continue
		}
		if got := strings.Join(m.Labels, ","); got != labels {
			t.Errorf("%s labels = %s, want %s", name, got, labels)
		}
	}
}

// Every metric the README names must exist in the code.
func TestReadmeNamesOnlyRealMetrics(t *testing.T) {
	ms, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"cdc_sentinel_build_info": true}
	for _, m := range ms {
		known[m.Name] = true
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			known[m.Name+suf] = m.Type == "histogram" || m.Type == "summary"
		}
	}
	readme, err := os.ReadFile(root + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile("`(cdc_[a-z0-9_]+)`").FindAllStringSubmatch(string(readme), -1) {
		if !known[name[1]] {
			t.Errorf("README names %s, which the code does not export", name[1])
		}
	}
}
