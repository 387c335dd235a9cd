package config

import (
	"errors"
	"fmt"
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

// Whatever is written under a key that can hold a credential, an error
// about it never quotes it, not even cut short.
func TestLoadErrorsNeverShowACredential(t *testing.T) {
	cases := map[string]string{
		"basic_auth string":    "connect_clusters:\n  - name: a\n    url: http://x:8083\n    basic_auth: u:hunter2\n",
		"password list":        "connect_clusters:\n  - name: a\n    url: http://x:8083\n    basic_auth: {username: u, password: [hunter2]}\n",
		"sasl string":          "kafka:\n  brokers: [k:9092]\n  sasl: hunter2\n",
		"store string":         "connect_clusters:\n  - name: a\n    url: http://x:8083\nremediation:\n  store: postgres://u:hunter2@h/db\n",
		"database string":      "databases:\n  - postgres://u:hunter2@h/db\n",
		"databases string":     "databases: postgres://u:hunter2@h/db\n",
		"vault string":         "databases:\n  - {name: d, driver: postgres, vault: hunter2}\n",
		"approle string":       "databases:\n  - name: d\n    driver: postgres\n    vault: {address: https://v, auth: {approle: hunter2}, kv: {path: p, dsn_key: k}}\n",
		"bad dsn":              "databases:\n  - {name: d, driver: postgres, dsn: 'postgres://u:hunter2@h:port/db'}\n",
		"bad sqlserver dsn":    "databases:\n  - {name: d, driver: sqlserver, dsn: 'sqlserver://u:hunter2@h:port'}\n",
		"bad store dsn":        "connect_clusters:\n  - name: a\n    url: http://x:8083\nremediation:\n  store: {type: postgres, dsn: 'postgres://u:hunter2@h/db?pool_max_conns=x'}\n",
		"bolt store with dsn":  "connect_clusters:\n  - name: a\n    url: http://x:8083\nremediation:\n  store: {dsn: 'postgres://u:hunter2@h/db'}\n",
		"bad template renders": "databases:\n  - name: d\n    driver: postgres\n    vault: {address: https://v, auth: {token: t}, kv: {path: p}, dsn_template: 'postgres://{{.Username}}:hunter2@h:port/db'}\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("t.yml", []byte(doc))
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, part := range []string{"hunt", "unte", "nter", "ter2"} {
				if strings.Contains(err.Error(), part) {
					t.Fatalf("error shows part of the secret: %v", err)
				}
			}
		})
	}
}

func TestMisspeltKeyNamesTheKnownOne(t *testing.T) {
	_, err := Parse("t.yml", []byte("connect_clusters:\n  - name: a\n    url: http://x:8083\n    timout: 5s\n"))
	want := `t.yml:4: connect_clusters[0]: unknown key "timout" (did you mean "timeout"?)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// Commands tell a configuration error (exit 2) from a failed operation by
// errors.Is(err, ErrInvalid), whatever went wrong with the file.
func TestEveryLoadErrorIsErrInvalid(t *testing.T) {
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"syntax":   "connect_clusters: [\n",
		"type":     "kafka: {brokers: k:9092}\n",
		"semantic": "connect_clusters:\n  - name: a\n",
		"empty":    "",
	} {
		p := filepath.Join(dir, name+".yml")
		os.WriteFile(p, []byte(doc), 0o600)
		if _, err := Load(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v is not ErrInvalid", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.yml")); !errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// check-config reads the DSN files too: one serve would refuse is not
// called valid, and its content is never shown.
func TestCheckFilesParsesDSNFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("postgres://u:hunter2@db:5432/app\n"), 0o600)
	os.WriteFile(bad, []byte("postgres://u:hunter2@db:port/app\n"), 0o600)
	doc := "databases:\n  - {name: a, driver: postgres, dsn_file: " + good + "}\n  - {name: b, driver: postgres, dsn_file: " + bad + "}\n" +
		"  - {name: c, driver: sqlserver, dsn_file: " + filepath.Join(dir, "missing") + "}\n" +
		"remediation:\n  store: {type: postgres, dsn_file: " + bad + "}\n"
	cfg, err := Parse("t.yml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckFiles("t.yml", []byte(doc), cfg)
	if err == nil {
		t.Fatal("bad DSN files passed")
	}
	for _, want := range []string{
		"t.yml:3: databases[1].dsn_file: " + bad + " does not hold a valid postgres DSN",
		"t.yml:4: databases[2].dsn_file: cannot be read here:",
		"t.yml:6: remediation.store.dsn_file: " + bad + " does not hold a valid PostgreSQL DSN",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "databases[0]") || strings.Contains(err.Error(), "hunter") {
		t.Errorf("error blames the good file or shows a secret:\n%v", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("not ErrInvalid")
	}
}

// A mis-indented line far down a long file is still named, not the line
// where its enclosing block began.
func TestMisindentedLineInALongFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("connect_clusters:\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "  - name: c%d\n    url: http://x:8083\n", i)
	}
	b.WriteString("   timeout: 5s\n")
	_, err := Parse("big.yml", []byte(b.String()))
	if err == nil || !strings.HasPrefix(err.Error(), "big.yml:2002: not valid YAML") {
		t.Errorf("error = %v, want it at line 2002", err)
	}
}

// Anchors and merge keys share settings between sections, as YAML allows.
func TestMergeKeysAreAccepted(t *testing.T) {
	doc := `tls: &tls
  ca_file: /ca.pem
connect_clusters:
  - name: a
    url: https://x:8083
    tls_config:
      <<: *tls
      server_name: x
`
	if _, err := Parse("t.yml", []byte(doc)); err == nil || err.Error() != `t.yml:1: top level: unknown key "tls"` {
		t.Fatalf("want only the unknown top-level key reported, got %v", err)
	}
	doc = `connect_clusters:
  - &base
    name: a
    url: https://x:8083
    timeout: 5s
  - <<: *base
    name: b
    timeout: soon
`
	_, err := Parse("t.yml", []byte(doc))
	if err == nil || err.Error() != `t.yml:8: connect_clusters[1].timeout: want a duration such as 30s or 5m, got "soon"` {
		t.Fatalf("error = %v", err)
	}
	cfg, err := Parse("t.yml", []byte(strings.Replace(doc, "soon", "7s", 1)))
	if err != nil || cfg.ConnectClusters[1].URL != "https://x:8083" || cfg.ConnectClusters[1].Timeout != 7*time.Second {
		t.Fatalf("merged config %+v, %v", cfg, err)
	}
}

// An anchor that contains an alias to itself ends in an error, not a
// crash.
func TestSelfReferencingAnchorIsAnError(t *testing.T) {
	for _, doc := range []string{
		"connect_clusters: &a [*a]\n",
		"kafka: &k {brokers: [k:9092], <<: *k}\n",
		"tables: &t [{name: x, drift: *t}]\n",
	} {
		if _, err := Parse("t.yml", []byte(doc)); err == nil {
			t.Errorf("%q loaded", doc)
		}
	}
}

// Aliases to lists of aliases expand exponentially; the check stops at a
// bound instead of walking them all.
func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("x0: &a0 [" + strings.Repeat("k:1,", 9) + "k:1]\n")
	for i := 1; i < 8; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [%s*a%d]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), i-1)
	}
	b.WriteString("kafka: {brokers: *a7}\n")
	_, err := Parse("t.yml", []byte(b.String()))
	if err == nil {
		t.Fatal("loaded")
	}
}
