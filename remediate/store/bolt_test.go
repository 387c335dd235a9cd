package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Claimed jobs are handed out even when the inbox cannot be cleared: the
// claim is committed, and a job nobody works on would stay running.
func TestBoltClaimHandsOutJobsWhenTheInboxCannotBeCleared(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "remediation.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	job := &Job{Key: "fp|t|rule|firing", Rule: "rule", Phase: PhaseFiring, ReceivedAt: time.Now()}
	if _, err := s.Enqueue(ctx, []*Job{job}); err != nil {
		t.Fatal(err)
	}
	// A read-only inbox makes the removal fail after the claim commits.
	if err := s.inbox.Close(); err != nil {
		t.Fatal(err)
	}
	if s.inbox, err = bolt.Open(InboxPath(path), 0o600, &bolt.Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Claim(ctx, "me", 10, time.Now(), time.Hour)
	if err == nil || !strings.Contains(err.Error(), "removing claimed remediation jobs from the inbox") {
		t.Fatalf("claim error: %v", err)
	}
	if len(got) != 1 || got[0].Key != job.Key {
		t.Fatalf("claimed jobs dropped on an inbox error: %v", got)
	}
	s.Close()
	// Reopened writable, the stale inbox entry is not claimed twice
	// (the restart made the job claimable again, once).
	s, err = OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.Claim(ctx, "me", 10, time.Now(), time.Hour)
	if err != nil || len(again) != 1 {
		t.Fatalf("after a restart: %v %v", again, err)
	}
	if more, err := s.Claim(ctx, "me", 10, time.Now(), time.Hour); err != nil || len(more) != 0 {
		t.Fatalf("the stale inbox entry was claimed again: %v %v", more, err)
	}
}
