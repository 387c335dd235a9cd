package config

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError reports a file that is not YAML at the line that is wrong.
// For an indentation mistake the parser names the line where the
// enclosing block began ("line 1: did not find expected key" for a key
// indented one space too few on line 4), so prefixes of the file are
// parsed again: the shortest one that fails with the same problem ends at
// the culprit. Prefixes that end before it parse (block YAML cut at a line
// end stays valid), so a binary search finds it in a few parses.
func syntaxError(name string, data []byte, err error) error {
	m := yamlErrLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{File: name, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	same := func(end int) bool {
		var n yaml.Node
		perr := yaml.Unmarshal(bytes.Join(lines[:end], nil), &n)
		if perr == nil {
			return false
		}
		pm := yamlErrLine.FindStringSubmatch(perr.Error())
		return pm != nil && pm[2] == problem
	}
	if line >= 1 && line <= len(lines) {
		lo, hi := line, len(lines)
		for lo < hi {
			mid := (lo + hi) / 2
			if same(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		line = hi
	}
	hint := ""
	if problem == "did not find expected key" || problem == "did not find expected '-' indicator" || strings.Contains(problem, "not allowed in this context") {
		hint = " (check this line's indentation against the lines above it)"
	}
	return &Error{File: name, Line: line, Msg: "not valid YAML: " + problem + hint}
}
