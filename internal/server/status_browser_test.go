package server

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The landing page renders in a real browser: headless Chromium (Debian's
// package, which .ci/run installs) takes its screenshot and its DOM after
// parsing holds every section. Skipped where Chromium is not installed.
func TestLandingPageRendersInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	srv := statusServer(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// The flags the machines here need: no sandbox as root, and no
		// background connections to a network that refuses them.
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=1280,1000"}
		out, err := exec.CommandContext(ctx, chromium, append(base, args...)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return string(out)
	}

	dom := run("--dump-dom", srv.URL+"/")
	for _, id := range []string{"failed", "behind", "reconciles", "remediations"} {
		if !strings.Contains(dom, `<section id="`+id+`">`) {
			t.Errorf("the rendered page has no %s section", id)
		}
	}
	if !strings.Contains(dom, "orders-sink") || !strings.Contains(dom, "42.5s") {
		t.Error("the rendered page lacks the failed task or the lag")
	}

	shot := filepath.Join(dir, "landing.png")
	run("--screenshot="+shot, srv.URL+"/")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 || blank(img) {
		t.Errorf("the screenshot is %v and blank=%v: nothing rendered", b, blank(img))
	}
	if out := os.Getenv("CDC_LANDING_SCREENSHOT"); out != "" {
		if b, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(out, b, 0o644)
		}
	}
}

// blank tells a screenshot of one colour.
func blank(img image.Image) bool {
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			if img.At(x, y) != first {
				return false
			}
		}
	}
	return true
}
