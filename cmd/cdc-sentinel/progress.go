package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progressBar redraws one line on stderr for the long commands
// (reconcile, dlq replay); nil draws nothing.
type progressBar struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

// newProgressBar returns a bar for --progress mode (auto: only when w is
// a terminal, always, never), or nil.
func newProgressBar(mode string, w io.Writer) *progressBar {
	if mode == "always" || (mode == "auto" && isTerminal(w)) {
		return &progressBar{w: w, start: time.Now()}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// draw shows phase, done of total and extra, at most ten times a second
// (and always at the end).
func (b *progressBar) draw(phase string, done, total int, extra string) {
	if b == nil || time.Since(b.last) < 100*time.Millisecond && done < total {
		return
	}
	b.last = time.Now()
	const width = 30
	filled := 0
	if total > 0 {
		filled = min(width*done/total, width)
	}
	if extra != "" {
		extra += "  "
	}
	fmt.Fprintf(b.w, "\r%-7s [%s%s] %d/%d  %s%s ", phase,
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, extra,
		time.Since(b.start).Round(time.Second))
}

// finish clears the line.
func (b *progressBar) finish() {
	if b != nil {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
