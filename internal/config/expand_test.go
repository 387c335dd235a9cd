package config

import (
	"maps"
	"reflect"
	"slices"
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

// FileKeys is inlined in fileKeysDoc, as the decoder inlines a section.
type FileKeys struct {
	Pass string `yaml:"pass_file"`
}

type fileKeysDoc struct {
	Key_file   string // untagged: the decoder's key is key_file
	FileKeys   `yaml:",inline"`
	Other_file string `yaml:"-"`
}

// The file keys expanded are exactly those the type check accepts: an
// untagged field under its lowercased name, an inlined one under its own
// key, and not a field the file cannot set.
func TestTheFileKeysExpandedAreTheKeysTheFileAccepts(t *testing.T) {
	accepted := slices.Sorted(maps.Keys(yamlFields(reflect.TypeFor[fileKeysDoc]())))
	if want := []string{"key_file", "pass_file"}; !slices.Equal(accepted, want) {
		t.Fatalf("keys accepted %v, want %v", accepted, want)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "/run/c")
	d := fileKeysDoc{Key_file: "$CREDENTIALS_DIRECTORY/k", FileKeys: FileKeys{Pass: "$CREDENTIALS_DIRECTORY/p"}, Other_file: "$CREDENTIALS_DIRECTORY/o"}
	v := &validator{file: "c.yml"}
	expandFileFields(reflect.ValueOf(&d).Elem(), "", v)
	if err := v.err(); err != nil {
		t.Fatal(err)
	}
	want := fileKeysDoc{Key_file: "/run/c/k", FileKeys: FileKeys{Pass: "/run/c/p"}, Other_file: "$CREDENTIALS_DIRECTORY/o"}
	if d != want {
		t.Errorf("expanded %+v, want %+v", d, want)
	}

	d = fileKeysDoc{Key_file: "${CDC_SENTINEL_NOT_SET_ANYWHERE}/k"}
	v = &validator{file: "c.yml"}
	expandFileFields(reflect.ValueOf(&d).Elem(), "", v)
	if err := v.err(); err == nil || !strings.Contains(err.Error(), "key_file: ${CDC_SENTINEL_NOT_SET_ANYWHERE} is not set") {
		t.Errorf("unset variable in an untagged file key: %v, want the key's path named", err)
	}
}
