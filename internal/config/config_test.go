package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each testdata/invalid-*.yml must fail with exactly the message in the
// .err file beside it: users read these messages, so they are a contract.
func TestInvalidConfigsFailWithTheirExactMessage(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yml") + ".err")
			if err != nil {
				t.Fatalf("missing .err file: %v", err)
			}
			_, err = Parse(filepath.Base(f), data)
			if err == nil {
				t.Fatalf("loaded without error; want %q", want)
			}
			if got := err.Error(); got != strings.TrimSpace(string(want)) {
				t.Errorf("error:\n got: %s\nwant: %s", got, strings.TrimSpace(string(want)))
			}
		})
	}
}

func TestValidConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid-*.yml")
	files = append(files, "../../cdc-sentinel.example.yml")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDefaultsAreApplied(t *testing.T) {
	cfg, err := Parse("t.yml", []byte("connect_clusters:\n  - name: a\n    url: http://x:8083\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ConnectClusters[0].Timeout; got != DefaultConnectTimeout {
		t.Errorf("timeout = %s, want %s", got, DefaultConnectTimeout)
	}
	if cfg.Remediation.MaxActionsPerHour != 30 || cfg.Remediation.MaxAlertAge != 6*time.Hour {
		t.Errorf("remediation defaults not applied: %+v", cfg.Remediation)
	}
}

func TestSeveralErrorsAreReportedTogether(t *testing.T) {
	_, err := Parse("t.yml", []byte("connect_clusters:\n  - name: a\n  - url: http://x\n"))
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"connect_clusters[0].url: required", "connect_clusters[1].name: required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	s := Secret("hunter2")
	if strings.Contains(s.String(), "hunter2") {
		t.Fatal("secret printed")
	}
	cfg, err := Parse("t.yml", []byte("connect_clusters:\n  - name: a\n    url: http://x:8083\n    basic_auth: {username: u, password: hunter2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ConnectClusters[0].BasicAuth.Password.Reveal(); got != "hunter2" {
		t.Fatalf("Reveal = %q", got)
	}
}

func TestURLEscapeKeepsSpacesInUserInfo(t *testing.T) {
	esc := DSNTemplateFuncs["urlescape"].(func(string) string)
	if got := esc("p w+d/@"); got != "p%20w%2Bd%2F%40" {
		t.Errorf("urlescape = %q", got)
	}
}
