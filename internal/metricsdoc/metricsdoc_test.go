package metricsdoc

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
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

// The docs name only metrics the code exports, and a metric written with
// its labels (`cdc_x{a,b}`) lists all of them: a partial list reads as the
// whole set (docs/remediation.md once gave cdc_remediation_actions_total
// without three of its labels). A label matcher (`{outcome="x"}`) is a
// query, not a list, and is not checked.
func TestDocsNameRealMetricsWithAllTheirLabels(t *testing.T) {
	ms, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string][]string{"cdc_sentinel_build_info": nil}
	for _, m := range ms {
		labels[m.Name] = m.Labels
		if m.Type == "histogram" || m.Type == "summary" {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				labels[m.Name+suf] = m.Labels
			}
		}
	}
	files, err := filepath.Glob(root + "/docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, root+"/README.md")
	named := regexp.MustCompile("`(cdc_[a-z0-9_]+)(\\{([a-z_, ]*)\\})?`")
	for _, f := range files {
		if strings.HasSuffix(f, "/metrics.md") {
			continue
		}
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range named.FindAllStringSubmatch(string(text), -1) {
			want, ok := labels[m[1]]
			if !ok {
				if strings.HasSuffix(m[1], "_") || strings.HasSuffix(m[1], "_*") {
					continue // a prefix such as cdc_sqlserver_
				}
				t.Errorf("%s names %s, which the code does not export", f, m[1])
				continue
			}
			if m[2] == "" {
				continue
			}
			var got []string
			for _, l := range strings.Split(m[3], ",") {
				got = append(got, strings.TrimSpace(l))
			}
			if strings.Join(sortedCopy(got), ",") != strings.Join(sortedCopy(want), ",") {
				t.Errorf("%s gives %s with labels {%s}; it has {%s} (or name it without labels and link docs/metrics.md)", f, m[1], strings.Join(got, ","), strings.Join(want, ","))
			}
		}
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
