package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/promslog"
)

// plantedSecret is the password every form below carries: markers no
// message can contain by chance, around characters URL and DSN syntaxes
// give a meaning to.
const plantedSecret = "Q7zK p@ss:w%20rd W9xJ"

// secretMarkers are the parts of plantedSecret that must never show.
var secretMarkers = []string{"Q7zK", "W9xJ", "p@ss", "w%20rd"}

// plantedForms are the credential-carrying strings a configuration (or a
// driver's error about one) may hold, one per form Redact knows.
func plantedForms() map[string]string {
	enc := strings.NewReplacer(" ", "%20", "@", "%40", ":", "%3A", "%", "%25").Replace(plantedSecret)
	raw := strings.ReplaceAll(plantedSecret, " ", "")
	return map[string]string{
		"URL without scheme":       "red:" + raw + "@127.0.0.1:8083",
		"URL with a raw @":         "http://u:" + raw + "@connect:8083",
		"URL, percent-encoded":     "postgres://app:" + enc + "@db:5432/app",
		"sqlserver URL":            "sqlserver://sa:" + enc + "@mssql:1433?database=inventory",
		"URL query":                "postgres://db:5432/app?password=" + enc,
		"libpq, quoted":            "host=db user=app password='" + strings.ReplaceAll(plantedSecret, "'", `\'`) + "' dbname=app",
		"libpq, escaped":           "host=db user=app password=" + strings.ReplaceAll(plantedSecret, " ", `\ `) + " dbname=app",
		"ADO":                      "server=mssql;user id=sa;password=" + plantedSecret + ";database=inventory",
		"ADO, braces":              "server=mssql;user id=sa;Pwd={" + plantedSecret + "};database=inventory",
		"JDBC":                     "jdbc:sqlserver://mssql:1433;user=sa;password=" + plantedSecret + ";encrypt=true",
		"tracing endpoint, scheme": "http://u:" + raw + "@collector:4318",
	}
}

func assertNoSecret(t *testing.T, where, out string) {
	t.Helper()
	for _, m := range secretMarkers {
		if strings.Contains(out, m) {
			t.Errorf("%s shows %q of the password:\n%s", where, m, out)
			return
		}
	}
}

// Secrets in every form, in the places a configuration can hold them:
// check-config's errors, in both outputs, never show them.
func TestCheckConfigNeverShowsAPlantedSecret(t *testing.T) {
	dir := t.TempDir()
	yamlQuote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	forms := plantedForms()
	for name, s := range forms {
		for _, cfg := range []string{
			"connect_clusters:\n  - name: a\n    url: " + yamlQuote(s) + "\n",
			"connect_clusters:\n  - name: a\n    url: http://connect:8083\ntracing:\n  endpoint: " + yamlQuote(s) + "\n",
			"databases:\n  - name: d\n    driver: postgres\n    dsn: " + yamlQuote(s) + "\n  - name: e\n    driver: sqlserver\n    dsn: " + yamlQuote(s) + "\n",
			"remediation:\n  store: {type: postgres, dsn: " + yamlQuote(s) + "}\n",
		} {
			path := filepath.Join(dir, "c.yml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{"table", "json"} {
				var stdout, stderr bytes.Buffer
				run([]string{"check-config", "--config.file=" + path, "-o", out}, &stdout, &stderr)
				assertNoSecret(t, fmt.Sprintf("check-config -o %s, %s in\n%s", out, name, cfg), stdout.String()+stderr.String())
			}
		}
	}
}

// Every log line goes through the redacting handler: a credential in the
// message, in a value, in an error or inside a group never reaches the
// log, in either format.
func TestLogsNeverShowAPlantedSecret(t *testing.T) {
	for _, format := range []string{"logfmt", "json"} {
		var buf bytes.Buffer
		g := &globals{logConfig: promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}, stderr: &buf}
		if err := g.logConfig.Format.Set(format); err != nil {
			t.Fatal(err)
		}
		logger := g.logger()
		for name, s := range plantedForms() {
			logger.Error("opening "+s+" failed", "dsn", s, "err", errors.New("connect "+s+": refused"),
				slog.Group("store", "url", s), "form", name)
			logger.With("endpoint", s).Warn("tracing")
		}
		assertNoSecret(t, format+" log", buf.String())
		if !strings.Contains(buf.String(), "xxxxx") {
			t.Fatalf("%s log: nothing redacted?\n%s", format, buf.String())
		}
	}
}

// An error quoting a DSN in a form the driver redacts badly is redacted
// where any error leaves the process: the failed-operation line.
func TestFailedOperationLineNeverShowsAPlantedSecret(t *testing.T) {
	var buf bytes.Buffer
	g := &globals{stderr: &buf}
	for _, s := range plantedForms() {
		g.failed(fmt.Errorf("cannot parse `%s`: failed to parse as keyword/value (invalid keyword/value)", s))
		g.usageError(fmt.Errorf("reading %s: no such file", s))
	}
	assertNoSecret(t, "stderr", buf.String())
}
