// Package filelock is the one place that decides a bbolt file cannot be
// opened because another process holds it: bbolt's file lock only times
// out, and every file under --storage.path (the remediation store, the
// dlq replay ledger) reports that the same way.
package filelock

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrHeld is why a file another process holds cannot be opened.
var ErrHeld = errors.New("in use by another process")

// OpenBolt opens (or creates) the bbolt file at path with opts, waiting
// opts.Timeout for its lock; an error wrapping ErrHeld, naming path, says
// another process still held it then. Callers add what the file is and
// what to do.
func OpenBolt(path string, opts *bolt.Options) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, opts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%s is %w", path, ErrHeld)
	}
	return db, err
}
