package config

import (
	"strings"
	"testing"
)

func TestFileKeysExpandTheCredentialsDirectory(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "/run/credentials/cdc-sentinel.service")
	cfg, err := Parse("c.yml", []byte(`
databases:
  - name: source
    driver: postgres
    dsn_file: ${CREDENTIALS_DIRECTORY}/source-dsn
connect_clusters:
  - name: a
    url: http://127.0.0.1:8083
    basic_auth:
      username: u
      password_file: $CREDENTIALS_DIRECTORY/connect-password
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Databases[0].DSNFile, "/run/credentials/cdc-sentinel.service/source-dsn"; got != want {
		t.Errorf("dsn_file = %q, want %q", got, want)
	}
	if got, want := cfg.ConnectClusters[0].BasicAuth.PasswordFile, "/run/credentials/cdc-sentinel.service/connect-password"; got != want {
		t.Errorf("password_file = %q, want %q", got, want)
	}
}

func TestOnlyFileKeysAreExpanded(t *testing.T) {
	t.Setenv("HOME", "/root")
	cfg, err := Parse("c.yml", []byte(`
connect_clusters:
  - name: a
    url: http://127.0.0.1:8083
    basic_auth:
      username: u
      password: pa$HOME
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(cfg.ConnectClusters[0].BasicAuth.Password); got != "pa$HOME" {
		t.Errorf("a password was expanded: %q", got)
	}
}

func TestAnUnsetVariableInAFileKeyIsAnError(t *testing.T) {
	_, err := Parse("c.yml", []byte(`
databases:
  - name: source
    driver: postgres
    dsn_file: ${CDC_SENTINEL_NOT_SET_ANYWHERE}/source-dsn
`))
	if err == nil {
		t.Fatal("an unset variable was accepted")
	}
	want := `c.yml:5: databases[0].dsn_file: ${CDC_SENTINEL_NOT_SET_ANYWHERE} is not set`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}
