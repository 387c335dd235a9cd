package config

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// CheckFiles reads the DSN files cfg names (databases[].dsn_file, the
// PostgreSQL store's dsn_file) and parses each DSN as serve will when it
// opens them, so check-config accepts no file serve would refuse. Load
// does not: a file may be mounted only where serve runs. Errors never
// quote a file's content.
func CheckFiles(name string, data []byte, cfg *Config) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return syntaxError(name, data, err)
	}
	v := &validator{file: name, root: &root}
	for i, d := range cfg.Databases {
		if d.DSNFile == "" {
			continue
		}
		p := fmt.Sprintf("databases[%d].dsn_file", i)
		if s, ok := v.readDSNFile(p, d.DSNFile); ok {
			if _, err := dsn.Parse(d.Driver, s); err != nil {
				v.fail(p, "%s does not hold a valid %s DSN (its content is not shown: it holds credentials)", d.DSNFile, d.Driver)
			}
		}
	}
	if st := cfg.Remediation.Store; st.Type == "postgres" && st.DSNFile != "" {
		p := "remediation.store.dsn_file"
		if s, ok := v.readDSNFile(p, st.DSNFile); ok {
			if err := dsn.CheckPostgresPool(s); err != nil {
				v.fail(p, "%s does not hold a valid PostgreSQL DSN (its content is not shown: it holds credentials)", st.DSNFile)
			}
		}
	}
	return v.err()
}

func (v *validator) readDSNFile(path, file string) (string, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		v.fail(path, "cannot be read here: %v", err)
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}
