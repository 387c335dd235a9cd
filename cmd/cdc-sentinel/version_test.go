package main

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/common/version"
)

// A plain `go build` (no -ldflags) reports the VERSION file's version.
func TestVersionFromAPlainBuild(t *testing.T) {
	want, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := runBinary(t, "--version")
	if code != 0 || !strings.Contains(out, "cdc-sentinel, version "+strings.TrimSpace(string(want))+" ") {
		t.Errorf("exit %d, --version = %q; want version %s", code, out, want)
	}
}

func TestStampVersionTakesTheRevisionFromVCSInfo(t *testing.T) {
	saved := [3]string{version.Version, version.Revision, version.BuildDate}
	t.Cleanup(func() { version.Version, version.Revision, version.BuildDate = saved[0], saved[1], saved[2] })

	version.Version, version.Revision, version.BuildDate = "", "", ""
	stampVersion(&debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-11-28T23:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}, true)
	if version.Version == "" || version.Revision != "0123abc-modified" || version.BuildDate != "2026-11-28T23:00:00Z" {
		t.Errorf("version %q revision %q date %q", version.Version, version.Revision, version.BuildDate)
	}

	// Values stamped at link time are kept.
	version.Version, version.Revision = "9.9.9", "release"
	stampVersion(&debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "other"}}}, true)
	if version.Version != "9.9.9" || version.Revision != "release" {
		t.Errorf("link-time values overwritten: %q %q", version.Version, version.Revision)
	}
}
