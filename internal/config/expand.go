package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
)

// expandFilePaths expands environment variables in the keys that name a
// file (every key ending in _file), and nowhere else. systemd hands
// LoadCredential= files to a unit in a directory it chooses at start and
// names only in $CREDENTIALS_DIRECTORY, so `dsn_file:
// ${CREDENTIALS_DIRECTORY}/source-dsn` must work; expanding every value
// would instead turn a '$' in a password or a filter into something else.
// A variable that is not set is an error: an empty expansion would point
// the key at a wrong file.
func (c *Config) expandFilePaths(v *validator) {
	expandFileFields(reflect.ValueOf(c).Elem(), "", v)
}

func expandFileFields(val reflect.Value, path string, v *validator) {
	switch val.Kind() {
	case reflect.Pointer:
		if !val.IsNil() {
			expandFileFields(val.Elem(), path, v)
		}
	case reflect.Slice:
		for i := 0; i < val.Len(); i++ {
			expandFileFields(val.Index(i), fmt.Sprintf("%s[%d]", path, i), v)
		}
	case reflect.Struct:
		t := val.Type()
		for i := 0; i < t.NumField(); i++ {
			key, inline, ok := fieldKey(t.Field(i))
			if !ok {
				continue
			}
			p := path
			if !inline {
				p = join(path, key)
			}
			fv := val.Field(i)
			if fv.Kind() == reflect.String && strings.HasSuffix(key, "_file") {
				fv.SetString(expandPath(fv.String(), p, v))
				continue
			}
			expandFileFields(fv, p, v)
		}
	}
}

func expandPath(s, path string, v *validator) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return os.Expand(s, func(name string) string {
		val, ok := os.LookupEnv(name)
		if !ok {
			v.fail(path, "${%s} is not set in cdc-sentinel's environment (systemd sets $CREDENTIALS_DIRECTORY for a unit with LoadCredential=)", name)
		}
		return val
	})
}
