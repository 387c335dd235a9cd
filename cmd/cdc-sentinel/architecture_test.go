package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docs/architecture.md is checked against the tree, so that it cannot
// quietly describe packages and calls that are gone: every package of the
// module has a row in its package tables, every row names a package, and
// every package.Function a journey stops at is declared in that package.

const architectureDoc = "../../docs/architecture.md"

// modulePackages maps each directory of the module holding Go files
// (a package, test-only ones included) to its declarations, outside tests:
// functions as "Name", methods and interface methods as "Type.Name",
// types as "Type".
func modulePackages(t *testing.T) map[string]map[string]bool {
	t.Helper()
	root := filepath.Join("..", "..")
	pkgs := map[string]map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if pkgs[rel] == nil {
			pkgs[rel] = map[string]bool{}
		}
		if strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		declare(pkgs[rel], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func declare(decls map[string]bool, f *ast.File) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil || len(d.Recv.List) == 0 {
				decls[d.Name.Name] = true
				continue
			}
			decls[receiverType(d.Recv.List[0].Type)+"."+d.Name.Name] = true
		case *ast.GenDecl:
			for _, s := range d.Specs {
				ts, ok := s.(*ast.TypeSpec)
				if !ok {
					continue
				}
				decls[ts.Name.Name] = true
				if it, ok := ts.Type.(*ast.InterfaceType); ok {
					for _, m := range it.Methods.List {
						for _, n := range m.Names {
							decls[ts.Name.Name+"."+n.Name] = true
						}
					}
				}
			}
		}
	}
}

func receiverType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverType(e.X)
	case *ast.IndexExpr:
		return receiverType(e.X)
	case *ast.IndexListExpr:
		return receiverType(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// tableRowPackages are the packages named in the first cell of the rows
// of architecture.md's tables, by line.
func tableRowPackages(t *testing.T, lines []string) map[string]int {
	t.Helper()
	named := map[string]int{}
	for i, line := range lines {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for _, m := range codeSpanRe.FindAllStringSubmatch(cells[0], -1) {
			named[m[1]] = i + 1
		}
	}
	return named
}

func TestArchitectureNamesEveryPackage(t *testing.T) {
	data, err := os.ReadFile(architectureDoc)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := modulePackages(t)
	named := tableRowPackages(t, strings.Split(string(data), "\n"))
	for p, line := range named {
		if pkgs[p] == nil {
			t.Errorf("architecture.md:%d names package %s, which does not exist", line, p)
		}
	}
	var missing []string
	for p := range pkgs {
		if _, ok := named[p]; !ok {
			missing = append(missing, p)
		}
	}
	slices.Sort(missing)
	for _, p := range missing {
		t.Errorf("architecture.md has no row for package %s: add it to the table of what the binary links, the test helpers or what is around the binary", p)
	}
}

// stopRe is a journey's stop: package.Function or package.Type.Method.
var stopRe = regexp.MustCompile(`^([a-z][a-z0-9]*)\.([A-Za-z]\w*)(?:\.([A-Za-z]\w*))?$`)

func TestArchitectureJourneysStopAtDeclaredFunctions(t *testing.T) {
	data, err := os.ReadFile(architectureDoc)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := modulePackages(t)
	byName := map[string][]string{} // a package's name (last element) → its directories
	for p := range pkgs {
		byName[path.Base(p)] = append(byName[path.Base(p)], p)
	}
	stops := 0
	in := false
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## Journey")
			continue
		}
		if !in {
			continue
		}
		for _, m := range codeSpanRe.FindAllStringSubmatch(line, -1) {
			s := stopRe.FindStringSubmatch(m[1])
			if s == nil || byName[s[1]] == nil {
				continue // a path, a flag, a header: not a stop
			}
			stops++
			decl := s[2]
			if s[3] != "" {
				decl += "." + s[3]
			}
			found := false
			for _, dir := range byName[s[1]] {
				found = found || pkgs[dir][decl]
			}
			if !found {
				t.Errorf("architecture.md:%d: the journey stops at %s, which package %s does not declare", i+1, m[1], s[1])
			}
		}
	}
	if stops < 20 {
		t.Fatalf("architecture.md: only %d package.Function stops found in its journeys; is the \"## Journey\" heading gone?", stops)
	}
}
