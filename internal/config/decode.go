package config

import (
	"fmt"
	"maps"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports a wrong type as "line 8: cannot unmarshal !!str
// `localho...` into []string": no key path, a value cut to ten
// characters (so part of a password in a string written where basic_auth
// wants a mapping), and nothing about what the key wants. checkTypes walks
// the document against the config types first and says all of that
// itself; the decoder then only fills in values already known to fit.

var (
	durationType = reflect.TypeOf(time.Duration(0))
	secretType   = reflect.TypeOf(Secret(""))
)

// checkTypes reports, for every node of the document, an unknown key or a
// value the decoder could not put into its field. It returns the paths of
// the values found wrong, so that validation does not report them again
// as missing.
func (v *validator) checkTypes(doc *yaml.Node) map[string]bool {
	bad := map[string]bool{}
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return bad
	}
	v.checkNode(doc.Content[0], reflect.TypeOf(Config{}), "", "", bad)
	return bad
}

// maxNodes bounds the values checked in one document, aliases expanded:
// a few aliases to lists of aliases expand exponentially ("billion
// laughs"). A real configuration has a few thousand.
const maxNodes = 100000

func (v *validator) checkNode(n *yaml.Node, t reflect.Type, path, want string, bad map[string]bool) {
	if !v.count(n, path, bad) {
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if want == "" {
		want = describe(t)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the field unset
	}
	var fits bool
	switch {
	case t == durationType, t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.Map:
		// The decoder's own rules decide what fits a scalar field.
		fits = n.Kind == yaml.ScalarNode && n.Decode(reflect.New(t).Interface()) == nil
	case t.Kind() == reflect.Slice:
		if fits = n.Kind == yaml.SequenceNode; fits {
			for i, item := range n.Content {
				v.checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), "", bad)
			}
		}
	case t.Kind() == reflect.Map:
		if fits = n.Kind == yaml.MappingNode; fits {
			v.checkMap(n, t, path, want, bad)
		}
	default:
		if fits = n.Kind == yaml.MappingNode; fits {
			v.checkStruct(n, t, path, want, bad)
		}
	}
	if !fits {
		// Only the value written for the field itself can be a
		// credential: a wrong timeout beside a password is shown.
		bad[path] = true
		v.failAt(n.Line, path, "want %s, got %s", want, shown(n, holdsSecret(t)))
	}
}

// count counts one more value checked; false once there are more than
// maxNodes, which is reported once.
func (v *validator) count(n *yaml.Node, path string, bad map[string]bool) bool {
	if v.nodes++; v.nodes <= maxNodes {
		return true
	}
	if v.nodes == maxNodes+1 {
		bad[path] = true
		v.failAt(n.Line, path, "the document expands to more than %d values: are aliases nested too deep?", maxNodes)
	}
	return false
}

// checkMap checks a mapping's values against the map's element type.
func (v *validator) checkMap(n *yaml.Node, t reflect.Type, path, want string, bad map[string]bool) {
	v.checkDuplicateKeys(n, path, bad)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			v.checkMerge(n.Content[i+1], t, path, want, bad)
			continue
		}
		v.checkNode(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), "", bad)
	}
}

// checkStruct checks a mapping against a struct: every key names one of
// its fields and holds what that field wants.
func (v *validator) checkStruct(n *yaml.Node, t reflect.Type, path, want string, bad map[string]bool) {
	v.checkDuplicateKeys(n, path, bad)
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if isMerge(n.Content[i]) {
			v.checkMerge(n.Content[i+1], t, path, want, bad)
			continue
		}
		f, ok := fields[key]
		if !ok {
			bad[join(path, key)] = true
			v.failAt(n.Content[i].Line, pathOrRoot(path), "unknown key %q%s", key, suggest(key, fields))
			continue
		}
		v.checkNode(n.Content[i+1], f.Type, join(path, key), f.Tag.Get("want"), bad)
	}
}

// checkDuplicateKeys reports a key written twice in one mapping. YAML
// forbids it and the decoder refuses the file, but its message names
// neither the key nor the first line; which of the two values was meant
// only the user knows, so both lines are named. Keys brought in by a "<<"
// merge may be overridden and do not count.
func (v *validator) checkDuplicateKeys(n *yaml.Node, path string, bad map[string]bool) {
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if isMerge(k) || k.Kind != yaml.ScalarNode {
			continue
		}
		if line, dup := first[k.Value]; dup {
			bad[join(path, k.Value)] = true
			v.failAt(k.Line, join(path, k.Value), "written twice in the same mapping (first at line %d); keep one", line)
			continue
		}
		first[k.Value] = k.Line
	}
}

// isMerge tells a "<<" merge key, which brings in the keys of an anchored
// mapping (or of each in a list of them).
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && (k.Tag == "!!merge" || (k.Value == "<<" && k.Tag == ""))
}

// checkMerge checks merged mappings as part of the mapping at path.
func (v *validator) checkMerge(n *yaml.Node, t reflect.Type, path, want string, bad map[string]bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			v.checkNode(item, t, path, want, bad)
		}
		return
	}
	v.checkNode(n, t, path, want, bad)
}

// yamlFields maps each key a struct accepts to its field, inlined structs
// included.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch key, inline, ok := fieldKey(f); {
		case !ok:
		case inline:
			maps.Copy(out, yamlFields(f.Type))
		default:
			out[key] = f
		}
	}
	return out
}

// fieldKey is the one reading of a field's yaml tag, as the decoder reads
// it, for the type check and the expansion of file keys alike: the key
// the field is written under, or inline when its own keys stand in its
// parent's mapping; ok is false for a field the file cannot set.
func fieldKey(f reflect.StructField) (key string, inline, ok bool) {
	tag := strings.Split(f.Tag.Get("yaml"), ",")
	switch {
	case tag[0] == "-" || !f.IsExported():
		return "", false, false
	case len(tag) > 1 && tag[1] == "inline":
		return "", true, true
	case tag[0] != "":
		return tag[0], false, true
	}
	return strings.ToLower(f.Name), false, true
}

// holdsSecret tells whether a value of type t can carry a credential: a
// Secret, or a section with one somewhere inside (basic_auth, sasl,
// store, vault). Whatever is written there is never quoted back.
func holdsSecret(t reflect.Type) bool {
	return holdsSecretSeen(t, map[reflect.Type]bool{})
}

func holdsSecretSeen(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t == secretType {
		return true
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return false
	}
	seen[t] = true
	for i := 0; i < t.NumField(); i++ {
		if holdsSecretSeen(t.Field(i).Type, seen) {
			return true
		}
	}
	return false
}

// describe says in a user's words what a field of type t takes.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "a duration such as 30s or 5m"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice:
		e := t.Elem()
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		switch e.Kind() {
		case reflect.Struct, reflect.Map:
			return "a list of mappings"
		case reflect.String:
			return "a list of strings"
		}
		return "a list"
	}
	if t.Kind() == reflect.Struct {
		keys := make([]string, 0)
		for k := range yamlFields(t) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) <= 4 {
			return "a mapping (keys: " + strings.Join(keys, ", ") + ")"
		}
	}
	return "a mapping"
}

// shown is what a wrong value is called in an error: quoted in full, or,
// where it may carry a credential, only its kind.
func shown(n *yaml.Node, secret bool) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if secret {
		return "a string (not shown: it may hold a credential)"
	}
	return fmt.Sprintf("%q", n.Value)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func pathOrRoot(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

// suggest names the known key closest to a misspelt one.
func suggest(key string, fields map[string]reflect.StructField) string {
	best, bestDist := "", 3
	for k := range fields {
		if d := editDistance(key, k); d < bestDist || (d == bestDist && k < best) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
