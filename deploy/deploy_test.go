// Package deploy holds the deployment files; its tests check them
// statically, since the machines that run the tests have no Docker engine
// and no Kubernetes cluster.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/gen/prometheusrule"
)

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string   `yaml:"image"`
	Build       any      `yaml:"build"`
	User        string   `yaml:"user"`
	SecurityOpt []string `yaml:"security_opt"`
	CapDrop     []string `yaml:"cap_drop"`
	ReadOnly    bool     `yaml:"read_only"`
	MemLimit    string   `yaml:"mem_limit"`
	CPUs        any      `yaml:"cpus"`
	Volumes     []any    `yaml:"volumes"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c
}

// pinned accepts name:tag (tag not "latest") and name@sha256:digest; the
// registry host's port is not a tag.
var pinned = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*(:[0-9]+)?[a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)

func imagePinned(image string) bool {
	if !pinned.MatchString(image) {
		return false
	}
	if strings.Contains(image, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon < slash+1 {
		return false // no tag
	}
	return image[colon+1:] != "latest"
}

func TestImagePinnedRecognisesTags(t *testing.T) {
	cases := map[string]bool{
		"postgres:17.6-alpine":                              true,
		"quay.io/debezium/connect:3.2.3.Final":              true,
		"localhost:5000/cdc-sentinel:0.1.0":                 true,
		"postgres":                                          false,
		"postgres:latest":                                   false,
		"localhost:5000/cdc-sentinel":                       false,
		"grafana/grafana@sha256:" + strings.Repeat("a", 64): true,
	}
	for image, want := range cases {
		if got := imagePinned(image); got != want {
			t.Errorf("imagePinned(%q) = %v, want %v", image, got, want)
		}
	}
}

func TestComposeServicesArePinnedAndHardened(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if s.Image == "" {
			t.Errorf("service %s: no image (a built service still needs image: name:version)", name)
		} else if !imagePinned(s.Image) {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.Image)
		}
		if !contains(s.SecurityOpt, "no-new-privileges:true") && !contains(s.SecurityOpt, "no-new-privileges") {
			t.Errorf("service %s: security_opt lacks no-new-privileges", name)
		}
		if !contains(s.CapDrop, "ALL") {
			t.Errorf("service %s: cap_drop lacks ALL", name)
		}
		if s.MemLimit == "" || s.CPUs == nil {
			t.Errorf("service %s: no mem_limit or cpus", name)
		}
		if s.User == "" && name != "postgres" {
			// postgres's entrypoint needs root to own its data directory
			// before it drops to the postgres user.
			t.Errorf("service %s: no non-root user", name)
		}
		if strings.HasPrefix(s.User, "0") || s.User == "root" {
			t.Errorf("service %s: runs as root (%s)", name, s.User)
		}
	}
	if s := c.Services["cdc-sentinel"]; !s.ReadOnly {
		t.Error("cdc-sentinel must run with a read-only root file system")
	}
}

func TestComposeHasTheWholeStack(t *testing.T) {
	c := loadCompose(t)
	for _, want := range []string{"sqlserver", "kafka", "connect", "postgres", "vault", "prometheus", "alertmanager", "grafana", "cdc-sentinel"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no %s service", want)
		}
	}
}

// TestComposeBindMountsExist checks every host path a service mounts:
// a missing file would make Docker create an empty directory in its place.
func TestComposeBindMountsExist(t *testing.T) {
	c := loadCompose(t)
	n := 0
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			var src string
			switch v := v.(type) {
			case string:
				src, _, _ = strings.Cut(v, ":")
			case map[string]any:
				if v["type"] != "bind" {
					continue
				}
				src, _ = v["source"].(string)
			}
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				continue // a named volume
			}
			n++
			if _, err := os.Stat(filepath.Clean(src)); err != nil {
				t.Errorf("service %s mounts %s, which does not exist in the repository: %v", name, src, err)
			}
		}
	}
	if n == 0 {
		t.Error("no bind mounts found: the parser is not reading volumes")
	}
}

func TestComposeCdcSentinelConfigIsValid(t *testing.T) {
	if _, err := config.Load("compose/cdc-sentinel.yml"); err != nil {
		t.Fatal(err)
	}
}

func TestComposeConnectorFilesAreConfigObjects(t *testing.T) {
	files, _ := filepath.Glob("compose/connect/*.json")
	if len(files) == 0 {
		t.Fatal("no connector files")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]string
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			t.Errorf("%s: not a flat configuration object: %v", f, err)
			continue
		}
		if cfg["connector.class"] == "" || cfg["tasks.max"] == "" {
			t.Errorf("%s: no connector.class or tasks.max", f)
		}
	}
}

// k8sDocs parses every YAML document of deploy/kubernetes.
func k8sDocs(t *testing.T) map[string][]map[string]any {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	byKind := map[string][]map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s does not parse: %v", f, err)
			}
			kind, _ := doc["kind"].(string)
			if kind == "" || doc["apiVersion"] == nil {
				t.Errorf("%s: a document without kind or apiVersion", f)
			}
			byKind[kind] = append(byKind[kind], doc)
		}
	}
	return byKind
}

func TestKubernetesManifests(t *testing.T) {
	docs := k8sDocs(t)
	for _, kind := range []string{"Deployment", "Service", "ServiceMonitor", "ConfigMap", "Secret", "PrometheusRule"} {
		if len(docs[kind]) != 1 {
			t.Errorf("%d %s manifests, want 1", len(docs[kind]), kind)
		}
	}
	if len(docs["Deployment"]) != 1 {
		return
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
						RunAsUser    int  `yaml:"runAsUser"`
					} `yaml:"securityContext"`
					Containers []struct {
						Name            string `yaml:"name"`
						Image           string `yaml:"image"`
						SecurityContext struct {
							ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
							AllowPrivilegeEscalation *bool
							Capabilities             struct {
								Drop []string `yaml:"drop"`
							} `yaml:"capabilities"`
						} `yaml:"securityContext"`
						LivenessProbe  probe `yaml:"livenessProbe"`
						ReadinessProbe probe `yaml:"readinessProbe"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	remarshal(t, docs["Deployment"][0], &d)
	pod := d.Spec.Template.Spec
	if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser == 0 {
		t.Errorf("pod security context %+v: want runAsNonRoot and a non-zero runAsUser", pod.SecurityContext)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("container root file system is not read-only")
	}
	if !contains(c.SecurityContext.Capabilities.Drop, "ALL") {
		t.Error("container does not drop ALL capabilities")
	}
	if !imagePinned(c.Image) {
		t.Errorf("image %q is not pinned", c.Image)
	}
	if c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
		t.Errorf("liveness probe on %q, want /-/healthy", c.LivenessProbe.HTTPGet.Path)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/-/ready" {
		t.Errorf("readiness probe on %q, want /-/ready", c.ReadinessProbe.HTTPGet.Path)
	}
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

func TestKubernetesConfigMapHoldsAValidConfig(t *testing.T) {
	cm := k8sDocs(t)["ConfigMap"]
	if len(cm) != 1 {
		t.Fatal("no ConfigMap")
	}
	data, _ := cm[0]["data"].(map[string]any)
	body, _ := data["cdc-sentinel.yml"].(string)
	if _, err := config.Parse("configmap.yaml:cdc-sentinel.yml", []byte(body)); err != nil {
		t.Fatal(err)
	}
}

// TestPrometheusRuleIsUpToDate fails when rules/ changed and
// deploy/kubernetes/prometheusrule.yaml was not regenerated.
func TestPrometheusRuleIsUpToDate(t *testing.T) {
	// Generate from the repository root so that the file names in the
	// header match what `make generate` writes.
	t.Chdir("..")
	want, err := generateFromDir("rules", prometheusrule.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("deploy/kubernetes/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("deploy/kubernetes/prometheusrule.yaml is stale: rules/ changed; run `make generate` and commit the result")
	}
}

func remarshal(t *testing.T, in, out any) {
	t.Helper()
	data, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The README's ConfigMap command takes every dashboard and nothing else
// from dashboards/ (a whole-folder --from-file took the Go test file too).
func TestKubernetesDashboardConfigMapTakesEveryDashboardOnly(t *testing.T) {
	readme, err := os.ReadFile("kubernetes/README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := regexp.MustCompile(`(?s)kubectl -n monitoring create configmap cdc-sentinel-dashboards((?:[^\n]*\\\n)*[^\n]*)`).FindSubmatch(readme)
	if cmd == nil {
		t.Fatal("the README no longer creates the dashboards ConfigMap")
	}
	var got []string
	for _, m := range regexp.MustCompile(`--from-file=(\S+)`).FindAllSubmatch(cmd[1], -1) {
		got = append(got, string(m[1]))
	}
	want, err := filepath.Glob("../dashboards/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i] = strings.TrimPrefix(want[i], "../")
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the ConfigMap takes %v, want every dashboard and nothing else: %v", got, want)
	}
}
