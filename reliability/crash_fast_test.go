package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// The fast, deterministic crash case of the suite, run by `make test`:
// cdc-sentinel is killed with SIGKILL the moment the worker receives its
// restart (after the send, before any outcome is recorded), started
// again on the same --storage.path, and Alertmanager resends the
// episode. The worker must see exactly one restart, and the audit must
// hold that action, as interrupted.
func TestKillRightAfterTheSendActsOnceAndAuditsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	worker := startStandIn(t)
	cfg := filepath.Join(dir, "crash.yml")
	writeFile(t, cfg, fmt.Sprintf(`connect_clusters:
  - {name: local, url: "http://%s", timeout: 3s}
remediation:
  verify_timeout: 30s
  rules:
    - name: crash-restart
      match: ['alertname="CrashProbe"']
      action: restart_task
      cooldown: 1h
      max_attempts: 3
`, worker.addr))
	s := newSentinel(bin, cfg, filepath.Join(dir, "data"))
	s.start(t)
	defer s.stop()

	sent := make(chan struct{}, 1)
	worker.notify(func(string) {
		select {
		case sent <- struct{}{}:
		default:
		}
	})
	body := alertBody("CrashProbe", "episode-1", time.Now(), map[string]string{"connect_cluster": "local", "connector": "orders-sink", "task": "0"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if st, _ := deliver(ctx, func() string { return s.addr }, body); st != 200 {
		t.Fatalf("first delivery answered %d", st)
	}
	select {
	case <-sent:
	case <-ctx.Done():
		t.Fatalf("the worker never received the restart:\n%s", s.logs)
	}
	s.kill()
	s.start(t)
	if st, _ := deliver(ctx, func() string { return s.addr }, body); st != 200 {
		t.Fatalf("resend answered %d", st)
	}
	var recs []auditRecord
	if !eventually(time.Minute, func() bool {
		var err error
		recs, err = s.audit()
		return err == nil && len(recs) > 0 && recs[0].Outcome != ""
	}) {
		t.Fatalf("no final audit record:\n%+v\n%s", recs, s.logs)
	}
	if n := worker.restartsOf("orders-sink"); n != 1 {
		t.Errorf("the worker saw %d restarts in one episode, want 1", n)
	}
	acted := 0
	for _, r := range recs {
		if r.Decision == "act" {
			acted++
			if r.Outcome != "interrupted" {
				t.Errorf("the action cut short by the kill is audited %q, want interrupted", r.Outcome)
			}
		}
	}
	if acted != 1 {
		t.Errorf("%d audited actions, want 1: %+v", acted, recs)
	}
}
