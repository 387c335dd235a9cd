package config

import (
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// keyPaths lists every configuration key as a dotted path, [] marking
// lists, by walking the config types' yaml tags.
func keyPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			prefix += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeOf(Config{}).PkgPath() {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		if tag[0] == "-" {
			continue
		}
		if len(tag) > 1 && tag[1] == "inline" {
			keyPaths(f.Type, prefix, out)
			continue
		}
		name := tag[0]
		if name == "" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		out[path] = true
		keyPaths(f.Type, path, out)
	}
}

// Every key the loader accepts is documented in docs/configuration.md, so
// the reference cannot fall behind the code.
func TestConfigurationReferenceCoversEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	keyPaths(reflect.TypeOf(Config{}), "", paths)
	var missing []string
	for p := range paths {
		if hasChildren(paths, p) {
			continue // documented through its keys
		}
		// The reference may name a key by any tail of its path
		// (`kafka_topic`, `signal.kafka_topic`, `rules[]`, ...).
		parts := strings.Split(p, ".")
		found := false
		for i := range parts {
			tail := strings.Join(parts[i:], ".")
			for _, form := range []string{tail, strings.TrimSuffix(tail, "[]"), strings.ReplaceAll(tail, "[]", "")} {
				if strings.Contains(string(doc), "`"+form+"`") || strings.Contains(string(doc), "`"+form+":") {
					found = true
				}
			}
		}
		if !found {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/configuration.md does not mention these keys:\n  %s", strings.Join(missing, "\n  "))
	}
}

func hasChildren(paths map[string]bool, p string) bool {
	for q := range paths {
		if strings.HasPrefix(q, p+".") || strings.HasPrefix(q, p+"[].") {
			return true
		}
	}
	return false
}
