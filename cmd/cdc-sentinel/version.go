package main

import (
	"runtime/debug"

	"github.com/prometheus/common/version"

	cdcsentinel "github.com/cdc-sentinel/cdc-sentinel"
)

// stampVersion fills in what release builds set with -ldflags: the
// version from the embedded VERSION file, the revision and its date from
// the VCS information `go build` records. Values set at link time win.
func stampVersion(info *debug.BuildInfo, ok bool) {
	if version.Version == "" {
		version.Version = cdcsentinel.Version()
	}
	if !ok {
		return
	}
	var rev, date string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			date = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if version.Revision == "" && rev != "" {
		if modified {
			rev += "-modified"
		}
		version.Revision = rev
	}
	if version.BuildDate == "" && date != "" {
		version.BuildDate = date
	}
}
