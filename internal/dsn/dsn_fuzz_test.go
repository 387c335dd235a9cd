package dsn

import (
	"strings"
	"testing"
)

// A DSN comes from the configuration file or from Vault and usually holds
// a password. Whatever it is, parsing never panics and a rejection never
// quotes it: the error is the same fixed text for every bad DSN.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, sqlserver bool, s string) {
		driver := Postgres
		if sqlserver {
			driver = SQLServer
		}
		_, err := Parse(driver, s)
		if err != nil && err.Error() != ErrInvalid.Error()+" for driver "+driver {
			t.Fatalf("rejection is not the fixed text: %q", err)
		}
		if driver == Postgres {
			if err := CheckPostgresPool(s); err != nil && strings.Contains(err.Error(), s) && len(s) > 3 {
				t.Fatalf("pool rejection quotes the DSN: %q", err)
			}
		}
	})
}
