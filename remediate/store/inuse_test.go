package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A second server on the same --storage.path is told who holds the store,
// not "timeout".
func TestASecondOpenNamesTheProcessHoldingTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "remediation.db")
	first, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	_, err = OpenBolt(path)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
	if want := fmt.Sprintf("in use by another process: held by another cdc-sentinel (pid %d)", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("second open: %q, want it to contain %q", err, want)
	}
	if !strings.Contains(err.Error(), "--storage.path") {
		t.Errorf("second open: %q does not say how to fix it", err)
	}
}

func TestClosingTheStoreRemovesItsPidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "remediation.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pidPath(path)); err != nil {
		t.Fatalf("no pid file while open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pidPath(path)); !os.IsNotExist(err) {
		t.Errorf("pid file left after close: %v", err)
	}
}
