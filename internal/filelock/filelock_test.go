package filelock

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestASecondOpenOfAHeldFileSaysItIsHeldAndWhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	first, err := OpenBolt(path, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenBolt(path, &bolt.Options{Timeout: 10 * time.Millisecond})
	if !errors.Is(err, ErrHeld) {
		t.Fatalf("second open: %v, want ErrHeld", err)
	}
	if want := path + " is in use by another process"; err.Error() != want {
		t.Errorf("second open: %q, want %q", err, want)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenBolt(path, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("open once the holder let go: %v", err)
	}
	again.Close()
}

func TestAnOpenFailingForAnotherReasonIsNotHeld(t *testing.T) {
	_, err := OpenBolt(filepath.Join(t.TempDir(), "missing", "x.db"), &bolt.Options{Timeout: time.Second})
	if err == nil || errors.Is(err, ErrHeld) {
		t.Fatalf("open in a missing directory: %v, want an error other than ErrHeld", err)
	}
}
