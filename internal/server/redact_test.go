package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// A reload that fails on an error quoting a DSN (a driver's, say) answers
// with the error redacted: the answer goes to whoever can reach
// /-/reload.
func TestReloadAnswerNeverShowsACredential(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfgFile, []byte("connect_clusters: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dsn := range []string{
		"red:Q7zK@p@ss@127.0.0.1:8083",
		"postgres://app:Q7zK%20p%40ss@db:5432/app",
		"host=db password='Q7zK p\\'ss' dbname=app",
		"server=mssql;password=Q7zK p ss;database=d",
	} {
		s := New(Options{Logger: slog.New(slog.DiscardHandler), ConfigFile: cfgFile, Build: func(context.Context, *config.Config) (*Runtime, error) {
			return nil, fmt.Errorf("databases: opening %s: connection refused", dsn)
		}})
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "Q7zK") || !strings.Contains(w.Body.String(), "xxxxx") {
			t.Errorf("reload answer for %s: %d %q", dsn, w.Code, w.Body)
		}
	}
}
