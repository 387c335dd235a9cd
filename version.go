// Package cdcsentinel holds what belongs to the module as a whole: the
// release version, read from the VERSION file that release tooling and
// Makefile also read, so a plain `go build` reports the same version.
package cdcsentinel

import (
	_ "embed"
	"strings"
)

//go:embed VERSION
var versionFile string

// Version is the release version from the VERSION file.
func Version() string { return strings.TrimSpace(versionFile) }
