package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"gopkg.in/yaml.v3"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// The docs are checked against the binary: every cdc-sentinel command line
// in README.md and docs/*.md must parse as written against the real
// command line, and every YAML example must load as a configuration.

// docFiles are the pages users read.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

// docCommand is one command line as a page shows it.
type docCommand struct {
	where  string // file:line
	text   string
	inline bool // an inline code span in prose, which may name a command group
}

// docBlock is one fenced code block.
type docBlock struct {
	where string
	lang  string
	lines []string
}

var fenceRe = regexp.MustCompile("^(\\s*)```(\\S*)")

func fencedBlocks(t *testing.T, file string) (blocks []docBlock, prose []string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(file, "../../")
	var cur *docBlock
	indent := ""
	for i, line := range strings.Split(string(data), "\n") {
		m := fenceRe.FindStringSubmatch(line)
		switch {
		case cur == nil && m != nil:
			cur, indent = &docBlock{where: fmt.Sprintf("%s:%d", name, i+2), lang: m[2]}, m[1]
			prose = append(prose, "")
		case cur != nil && m != nil:
			blocks = append(blocks, *cur)
			cur = nil
			prose = append(prose, "")
		case cur != nil:
			cur.lines = append(cur.lines, strings.TrimPrefix(line, indent))
			prose = append(prose, "")
		default:
			prose = append(prose, line)
		}
	}
	if cur != nil {
		t.Fatalf("%s: unterminated code block", cur.where)
	}
	return blocks, prose
}

var (
	commandStartRe = regexp.MustCompile(`^(?:\$ )?(?:\./|bin/)?cdc-sentinel(?:\s|$)`)
	inlineSpanRe   = regexp.MustCompile("`((?:\\./|bin/)?cdc-sentinel [^`]+)`")
	commentRe      = regexp.MustCompile(`\s+#.*$`)
)

func docCommands(t *testing.T) []docCommand {
	t.Helper()
	var cmds []docCommand
	for _, f := range docFiles(t) {
		blocks, prose := fencedBlocks(t, f)
		for _, b := range blocks {
			var pending string
			for j, line := range b.lines {
				if pending == "" && !commandStartRe.MatchString(strings.TrimSpace(line)) {
					continue
				}
				line = strings.TrimSpace(line)
				if strings.HasSuffix(line, `\`) {
					pending += strings.TrimSuffix(line, `\`) + " "
					continue
				}
				line = pending + line
				pending = ""
				where := b.where[:strings.LastIndex(b.where, ":")]
				var start int
				fmt.Sscanf(b.where[len(where)+1:], "%d", &start)
				cmds = append(cmds, docCommand{where: fmt.Sprintf("%s:%d", where, start+j), text: commentRe.ReplaceAllString(line, "")})
			}
		}
		for i, line := range prose {
			for _, m := range inlineSpanRe.FindAllStringSubmatch(line, -1) {
				cmds = append(cmds, docCommand{where: fmt.Sprintf("%s:%d", strings.TrimPrefix(f, "../../"), i+1), text: m[1], inline: true})
			}
		}
	}
	return cmds
}

// placeholders stand for what a reader fills in.
var placeholders = map[string]string{
	"NAME":      "inventory-sink",
	"CONNECTOR": "inventory-sink",
	"FILE":      "connector.json",
	"F":         "cdc-sentinel.yml",
	"T":         "orders",
	"TABLE":     "orders",
	"ID":        "0",
	"N":         "2",
	"D":         "30s",
}

func substitute(word string) string {
	prefix, value := "", word
	if i := strings.Index(word, "="); i >= 0 && strings.HasPrefix(word, "-") {
		prefix, value = word[:i+1], word[i+1:]
	}
	if v, ok := placeholders[value]; ok {
		value = v
	}
	return prefix + value
}

// expandSynopsis turns a usage line into every command line it allows.
func expandSynopsis(words []string) ([][]string, error) {
	items, rest, err := parseSeq(words)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("unbalanced ] before %q", strings.Join(rest, " "))
	}
	return expandSeq(items), nil
}

// parseSeq reads items until "]" or the end; each item is its alternative
// expansions.
func parseSeq(words []string) ([][][]string, []string, error) {
	var items [][][]string
	joinNext := false
	for len(words) > 0 {
		w := words[0]
		words = words[1:]
		var alts [][]string
		switch {
		case w == "]":
			return items, append([]string{"]"}, words...), nil
		case w == "|":
			if len(items) == 0 {
				return nil, nil, fmt.Errorf("| with nothing before it")
			}
			joinNext = true
			continue
		case w == "[":
			inner, rest, err := parseSeq(words)
			if err != nil {
				return nil, nil, err
			}
			if len(rest) == 0 || rest[0] != "]" {
				return nil, nil, fmt.Errorf("[ without ]")
			}
			words = rest[1:]
			alts = append([][]string{{}}, expandSeq(inner)...)
		default:
			alts = wordAlternatives(w)
		}
		if joinNext {
			items[len(items)-1] = append(items[len(items)-1], alts...)
			joinNext = false
			continue
		}
		items = append(items, alts)
	}
	if joinNext {
		return nil, nil, fmt.Errorf("| with nothing after it")
	}
	return items, nil, nil
}

func wordAlternatives(w string) [][]string {
	many := strings.HasSuffix(w, "...")
	w = strings.TrimSuffix(w, "...")
	prefix := ""
	if i := strings.Index(w, "="); i >= 0 && strings.HasPrefix(w, "-") {
		prefix, w = w[:i+1], w[i+1:]
	}
	var alts [][]string
	for _, a := range strings.Split(w, "|") {
		v := substitute(prefix + a)
		if many {
			// Two values: the docs promise more than one is taken.
			alts = append(alts, []string{v, v + "-2"})
		} else {
			alts = append(alts, []string{v})
		}
	}
	return alts
}

func expandSeq(items [][][]string) [][]string {
	out := [][]string{{}}
	for _, alts := range items {
		var next [][]string
		for _, prefix := range out {
			for _, a := range alts {
				next = append(next, append(append([]string{}, prefix...), a...))
			}
		}
		out = next
	}
	return out
}

// shellWords splits a line as a shell would for the simple lines docs
// show: whitespace, single and double quotes. Brackets of a usage stand
// apart.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case r == '[' || r == ']':
			flush()
			words = append(words, string(r))
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote")
	}
	flush()
	return words, nil
}

// parseOnly parses args with the command line run builds, executing
// nothing; it returns the selected command's name.
func parseOnly(args []string) (string, error) {
	app, g := newApp(io.Discard, io.Discard)
	terminated := false
	app.Terminate(func(int) { terminated = true })
	cmd, err := app.Parse(args)
	if terminated {
		return "--help", nil // --help or --version: fine as written
	}
	if err != nil {
		return "", err
	}
	if _, ok := g.handlers[cmd]; !ok {
		return "", fmt.Errorf("command %q has nothing to run", cmd)
	}
	return cmd, nil
}

// namesCommand is true when words, without flags or arguments, are a
// command's path: prose names a command or a group ("`cdc-sentinel dlq`")
// without the flags it needs to run.
func namesCommand(words []string) bool {
	app, _ := newApp(io.Discard, io.Discard)
	var cmd *kingpin.CmdClause
	for _, w := range words {
		if strings.HasPrefix(w, "-") {
			return false
		}
		if cmd == nil {
			cmd = app.GetCommand(w)
		} else {
			cmd = cmd.GetCommand(w)
		}
		if cmd == nil {
			return false
		}
	}
	return cmd != nil
}

func TestDocCommandsParseAsWritten(t *testing.T) {
	cmds := docCommands(t)
	lines := 0
	for _, c := range cmds {
		words, err := shellWords(c.text)
		if err != nil {
			t.Errorf("%s: %q: %v", c.where, c.text, err)
			continue
		}
		if words[0] == "$" {
			words = words[1:]
		}
		words = words[1:] // the binary
		if c.inline {
			trimmed := words
			if n := len(trimmed); n > 0 && trimmed[n-1] == "…" {
				trimmed = trimmed[:n-1]
			}
			if namesCommand(trimmed) {
				lines++
				continue
			}
		}
		expansions, err := expandSynopsis(words)
		if err != nil {
			t.Errorf("%s: %q: %v", c.where, c.text, err)
			continue
		}
		lines++
		for _, args := range expansions {
			if _, err := parseOnly(args); err != nil {
				t.Errorf("%s: %q does not parse as %q: %v", c.where, c.text, strings.Join(args, " "), err)
			}
		}
	}
	t.Logf("%d command lines checked", lines)
	// The extraction itself must keep working: the README alone shows more.
	if lines < 30 {
		t.Errorf("only %d command lines found in the docs; the extraction broke", lines)
	}
}

// baseConfig is the minimum a YAML example is set into: a Connect
// cluster, and the source and target databases the examples name.
const baseConfig = `
connect_clusters:
  - name: prod
    url: http://connect:8083
databases:
  - name: source
    driver: sqlserver
    dsn: sqlserver://reader:secret@source-db:1433?database=inventory
  - name: target
    driver: postgres
    dsn: postgres://reader:secret@target-db:5432/target
`

// exampleConfig sets a YAML example into baseConfig: each top-level
// section it has replaces the base's; an indented fragment is one
// table's keys; a table without source or target is given the base's.
func exampleConfig(lines []string) (string, error) {
	text := strings.Join(lines, "\n")
	fragment := len(lines) > 0 && strings.HasPrefix(lines[0], " ")
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(dedent(lines)), &doc); err != nil {
		return "", fmt.Errorf("not YAML: %w\n%s", err, text)
	}
	if fragment {
		doc = map[string]any{"tables": []any{merge(map[string]any{"name": "orders"}, doc)}}
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(baseConfig), &cfg); err != nil {
		return "", err
	}
	for k, v := range doc {
		cfg[k] = v
	}
	if tables, ok := cfg["tables"].([]any); ok {
		for _, tb := range tables {
			t, ok := tb.(map[string]any)
			if !ok {
				continue
			}
			name, _ := t["name"].(string)
			if _, ok := t["source"]; !ok {
				t["source"] = map[string]any{"database": "source", "table": "dbo." + name}
			}
			if _, ok := t["target"]; !ok {
				t["target"] = map[string]any{"database": "target", "table": "public." + name}
			}
		}
	}
	out, err := yaml.Marshal(cfg)
	return string(out), err
}

func merge(dst, src map[string]any) map[string]any {
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func dedent(lines []string) string {
	indent := len(lines[0]) - len(strings.TrimLeft(lines[0], " "))
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
			l = l[indent:]
		}
		out[i] = l
	}
	return strings.Join(out, "\n")
}

func TestDocYAMLExamplesLoad(t *testing.T) {
	n := 0
	for _, f := range docFiles(t) {
		blocks, _ := fencedBlocks(t, f)
		for _, b := range blocks {
			if b.lang != "yaml" && b.lang != "yml" {
				continue
			}
			n++
			cfg, err := exampleConfig(b.lines)
			if err != nil {
				t.Errorf("%s: %v", b.where, err)
				continue
			}
			if _, err := config.Parse(b.where, []byte(cfg)); err != nil {
				t.Errorf("%s: the example does not load: %v\nas loaded:\n%s", b.where, err, cfg)
			}
		}
	}
	t.Logf("%d YAML examples checked", n)
	if n < 10 {
		t.Errorf("only %d YAML examples found in the docs; the extraction broke", n)
	}
}

// The check is only worth its passes if it fails where a user would.
func TestDocChecksRefuseWhatTheBinaryRefuses(t *testing.T) {
	for _, line := range []string{
		"connectors list --bogus",
		"connectors list -o xml",
		"connectors frobnicate NAME",
		"connectors scale NAME --tasks=N extra",
		"reconcile --repair",
		"dlq inspect",
	} {
		words, err := shellWords(line)
		if err != nil {
			t.Fatal(err)
		}
		forms, err := expandSynopsis(words)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseOnly(forms[0]); err == nil {
			t.Errorf("%q parses; the docs check would let it through", line)
		}
	}
	for _, example := range [][]string{
		{"drift:", "  sample_sise: 100"},
		{"tables:", "  - name: orders", "    source: {database: nowhere, table: dbo.orders}"},
		{"    signal: {table: dbo.debezium_signal}"},
	} {
		cfg, err := exampleConfig(example)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := config.Parse("example", []byte(cfg)); err == nil {
			t.Errorf("%q loads; the docs check would let it through", strings.Join(example, "\n"))
		}
	}
}

var checkConfigLineRe = regexp.MustCompile(`^(\S+\.yml):\d+: `)

// A page that shows what check-config prints shows it exactly: the n-th
// such block of page P is the output for testdata/docs/P-n.yml, checked
// under the file name the page uses.
func TestDocCheckConfigOutputIsWhatItPrints(t *testing.T) {
	n := 0
	for _, f := range docFiles(t) {
		blocks, _ := fencedBlocks(t, f)
		nth := 0
		for _, b := range blocks {
			m := checkConfigLineRe.FindStringSubmatch(b.lines[0])
			if m == nil || b.lang != "" {
				continue
			}
			nth++
			n++
			input := fmt.Sprintf("testdata/docs/%s-%d.yml", filepath.Base(f), nth)
			data, err := os.ReadFile(input)
			if err != nil {
				t.Errorf("%s shows check-config's output; %s must hold its input: %v", b.where, input, err)
				continue
			}
			dir := t.TempDir()
			writeFile(t, dir, m[1], string(data))
			cmd := exec.Command(binary, "check-config", "--config.file="+m[1])
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err = cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
				t.Errorf("%s: check-config on %s: %v, want exit %d", b.where, input, err, exitUsage)
			}
			want := strings.TrimSpace(strings.Join(b.lines, "\n"))
			if got := strings.TrimSpace(stderr.String()); got != want {
				t.Errorf("%s shows\n%s\nbut check-config on %s prints\n%s", b.where, want, input, got)
			}
		}
	}
	if n < 3 {
		t.Errorf("only %d check-config outputs found in the docs; the extraction broke", n)
	}
}

// tableAfter returns the cells of the rows of the first Markdown table
// after the line starting with marker, header and rule left out.
func tableAfter(t *testing.T, file, marker string) [][]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	found, in := false, false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case !found:
			found = strings.HasPrefix(line, marker)
		case strings.HasPrefix(line, "|"):
			in = true
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows = append(rows, cells)
		case in:
			if len(rows) < 3 {
				t.Fatalf("%s: the table after %q has no rows", file, marker)
			}
			return rows[2:]
		}
	}
	t.Fatalf("%s: no table after %q", file, marker)
	return nil
}

var codeSpanRe = regexp.MustCompile("`([^`]+)`")

// leafFlags maps every command that runs to its flags, those of the
// commands above it and the application's included.
func leafFlags() map[string]map[string]*kingpin.FlagModel {
	app, _ := newApp(io.Discard, io.Discard)
	m := app.Model()
	out := map[string]map[string]*kingpin.FlagModel{}
	var walk func(cmds []*kingpin.CmdModel, inherited []*kingpin.FlagModel)
	walk = func(cmds []*kingpin.CmdModel, inherited []*kingpin.FlagModel) {
		for _, c := range cmds {
			flags := append(append([]*kingpin.FlagModel{}, inherited...), c.Flags...)
			if len(c.Commands) > 0 {
				walk(c.Commands, flags)
				continue
			}
			out[c.FullCommand] = map[string]*kingpin.FlagModel{}
			for _, f := range flags {
				if !f.Hidden && f.Name != "help" && f.Name != "version" {
					out[c.FullCommand][f.Name] = f
				}
			}
		}
	}
	walk(m.Commands, m.Flags)
	return out
}

// expandPath turns "connectors pause/resume" into its command paths.
func expandPath(words []string) []string {
	paths := []string{""}
	for _, w := range words {
		var next []string
		for _, p := range paths {
			for _, alt := range strings.Split(w, "/") {
				next = append(next, strings.TrimSpace(p+" "+alt))
			}
		}
		paths = next
	}
	return paths
}

// The flag references (the README's table of serve's flags, the
// configuration reference's table of the operations commands' flags)
// name every flag of every command, each with the default it has.
func TestDocFlagTablesMatchTheCommandLine(t *testing.T) {
	leaves := leafFlags()
	covered := map[string]bool{} // "command --flag"
	check := func(file, marker string) {
		for _, row := range tableAfter(t, file, marker) {
			var flags []string
			var paths [][]string // each flag's command path, if any
			for _, m := range codeSpanRe.FindAllStringSubmatch(row[0], -1) {
				words := strings.Fields(m[1])
				last := words[len(words)-1]
				if !strings.HasPrefix(last, "--") {
					continue // -o, the short form
				}
				flags = append(flags, strings.TrimPrefix(last, "--"))
				paths = append(paths, words[:len(words)-1])
			}
			if len(flags) == 0 {
				t.Errorf("%s: row %q names no --flag", file, row[0])
				continue
			}
			defaults := codeSpanRe.FindAllStringSubmatch(row[1], -1)
			for i, name := range flags {
				path := paths[i]
				matched := 0
				for cmd, fs := range leaves {
					f, ok := fs[name]
					inPath := len(path) == 0
					for _, p := range expandPath(path) {
						inPath = inPath || cmd == p || strings.HasPrefix(cmd, p+" ")
					}
					if !ok || !inPath {
						continue
					}
					matched++
					covered[cmd+" --"+name] = true
					def := strings.Join(f.Default, ",")
					if def == "" && f.IsBoolFlag() {
						def = "false"
					}
					switch {
					case len(defaults) == len(flags) || len(defaults) == 1:
						if want := defaults[min(i, len(defaults)-1)][1]; def != want {
							t.Errorf("%s: %s --%s defaults to %q, the table says %q", file, cmd, name, def, want)
						}
					case row[1] == "none" || row[1] == "off" || row[1] == "":
						if def != "" && def != "false" {
							t.Errorf("%s: %s --%s defaults to %q, the table says %s", file, cmd, name, def, row[1])
						}
					case row[1] == "required":
						if !f.Required {
							t.Errorf("%s: %s --%s is not required, the table says it is", file, cmd, name)
						}
					}
				}
				if matched == 0 {
					t.Errorf("%s: no command %q has --%s", file, strings.Join(path, " "), name)
				}
			}
		}
	}
	check("../../README.md", "`serve`'s flags")
	check("../../docs/configuration.md", "## Command-line flags")
	var missing []string
	for cmd, fs := range leaves {
		for name := range fs {
			if !covered[cmd+" --"+name] {
				missing = append(missing, cmd+" --"+name)
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("flags in neither the README's table nor docs/configuration.md's:\n  %s", strings.Join(missing, "\n  "))
	}
}

// Prose names a command and some of its flags without what it needs to
// run (`reconcile --repair --wait`, `connectors pause/resume --all`): the
// commands must exist and have those flags.
func TestDocProseCommandsHaveTheirFlags(t *testing.T) {
	leaves := leafFlags()
	app, _ := newApp(io.Discard, io.Discard)
	spanRe := regexp.MustCompile("`((?:serve|check-config|connectors|reconcile|doctor|dlq)(?: [^`]*)?)`")
	n := 0
	for _, f := range docFiles(t) {
		_, prose := fencedBlocks(t, f)
		for i, line := range prose {
			for _, m := range spanRe.FindAllStringSubmatch(line, -1) {
				n++
				where := fmt.Sprintf("%s:%d", strings.TrimPrefix(f, "../../"), i+1)
				words := strings.Fields(m[1])
				var path []string
				for len(words) > 0 && !strings.HasPrefix(words[0], "-") {
					known := true
					for _, p := range expandPath(append(append([]string{}, path...), words[0])) {
						known = known && commandExists(app, p)
					}
					if !known {
						break
					}
					path, words = append(path, words[0]), words[1:]
				}
				for _, w := range words {
					if !strings.HasPrefix(w, "--") {
						continue
					}
					name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
					if name == "help" || name == "version" {
						continue // every command's
					}
					for _, p := range expandPath(path) {
						has := false
						for cmd, fs := range leaves {
							if _, ok := fs[name]; ok && (cmd == p || strings.HasPrefix(cmd, p+" ")) {
								has = true
							}
						}
						if !has {
							t.Errorf("%s: `%s`: %s has no --%s", where, m[1], p, name)
						}
					}
				}
			}
		}
	}
	t.Logf("%d command names in prose checked", n)
	if n < 50 {
		t.Errorf("only %d command names found in prose; the extraction broke", n)
	}
}

func commandExists(app *kingpin.Application, path string) bool {
	words := strings.Fields(path)
	cmd := app.GetCommand(words[0])
	for _, w := range words[1:] {
		if cmd == nil {
			return false
		}
		cmd = cmd.GetCommand(w)
	}
	return cmd != nil
}
