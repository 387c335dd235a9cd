package config

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// maxPrefixSearch bounds the line search below; a config longer than this
// gets the parser's own line.
const maxPrefixSearch = 5000

// syntaxError reports a file that is not YAML at the line that is wrong.
// For an indentation mistake the parser names the line where the
// enclosing block began ("line 1: did not find expected key" for a key
// indented one space too few on line 4), so the file is parsed again a
// line at a time: the first prefix that fails with the same problem ends
// at the culprit.
func syntaxError(name string, data []byte, err error) error {
	m := yamlErrLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{File: name, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) <= maxPrefixSearch {
		for end := line; end <= len(lines); end++ {
			var n yaml.Node
			perr := yaml.Unmarshal(bytes.Join(lines[:end], nil), &n)
			if perr == nil {
				continue
			}
			if pm := yamlErrLine.FindStringSubmatch(perr.Error()); pm != nil && pm[2] == problem {
				line = end
				break
			}
		}
	}
	hint := ""
	if problem == "did not find expected key" || problem == "did not find expected '-' indicator" || strings.Contains(problem, "not allowed in this context") {
		hint = " (check this line's indentation against the lines above it)"
	}
	return &Error{File: name, Line: line, Msg: "not valid YAML: " + problem + hint}
}
