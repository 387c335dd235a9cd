package connectaction

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/tracing"
)

// Options tune how an action's effect is awaited.
type Options struct {
	// Timeout bounds the wait.
	Timeout time.Duration
	// PollInterval is the time between two status reads.
	PollInterval time.Duration
	// Settle is how many consecutive reads must show the effect: a task
	// that starts RUNNING and fails a second later is not a success.
	Settle int
	// FailedGrace is how long an instance the action should have brought
	// to its state may show FAILED before waiting stops early: right
	// after a restart the status may still show the failure being fixed.
	FailedGrace time.Duration
	// Concurrency bounds the connectors Operator.Do acts on and polls at
	// once, so that --all on a large cluster does not flood the workers.
	Concurrency int
	// OnState, when set, is told each new state a connector is seen in
	// while it is waited for, and each failed read that is retried;
	// calls for different connectors may come at once.
	OnState func(connector, state string)
	// Unattended is a run no person asked for (the remediator's): an
	// action a restart cannot fix is not sent, since nobody has fixed
	// its cause, and the starting status is read once, since a
	// connector that has no status yet is for a later delivery, not for
	// a wait within the job's lease.
	Unattended bool
}

// withDefaults fills in the zero fields: a minute's wait, a read every
// half second, two agreeing reads, five seconds' grace for a FAILED
// instance, eight connectors at once.
func (o Options) withDefaults() Options {
	d := Options{Timeout: 60 * time.Second, PollInterval: 500 * time.Millisecond, Settle: 2, FailedGrace: 5 * time.Second, Concurrency: 8}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = d.PollInterval
	}
	if o.Settle <= 0 {
		o.Settle = d.Settle
	}
	if o.FailedGrace <= 0 {
		o.FailedGrace = d.FailedGrace
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	return o
}

// Result is the verdict on one action.
type Result struct {
	Connector string
	// OK is true when the action took effect, or was not needed.
	OK bool
	// State describes the last status read: "connector PAUSED, 2 tasks PAUSED".
	State string
	// Note says why nothing was sent when the action was not needed,
	// why it was sent although a restart cannot fix the failure, and
	// names instances that stayed FAILED through the action, as Connect
	// leaves them; none of these make it fail.
	Note string
	// Err says why the action did not take effect (or was refused).
	Err error
	// Sent is true when the request reached the worker.
	Sent bool
	// Verdict is what was decided from the starting status; "" when it
	// could not be read. Only an Act (or, attended, an Unfixable) is
	// sent.
	Verdict Verdict
	// Reason says why the verdict is not Act.
	Reason  string
	Elapsed time.Duration
}

// Detail is the state with the note, for output and audit records.
func (r Result) Detail() string { return joinNote(r.State, r.Note) }

func (r Result) String() string {
	if r.OK {
		s := fmt.Sprintf("%s: %s (%s)", r.Connector, r.State, r.Elapsed.Round(10*time.Millisecond))
		if r.Note != "" {
			s += "; " + r.Note
		}
		return s
	}
	return fmt.Sprintf("%s: %v", r.Connector, r.Err)
}

// Run reads the connector's status, decides, and when the action is
// needed sends it and waits for its effect: the connectors command's
// whole action, each step in a span of its own. The remediator takes the
// same two steps, Check and Perform, with its admission between them.
// Scale is not run here: its request is a whole configuration.
func Run(ctx context.Context, c Client, a Action, o Options) Result {
	start := time.Now()
	d, r, send := Check(ctx, c, a, o)
	if send {
		r = Perform(ctx, c, d, o)
	}
	r.Connector, r.Elapsed = a.Connector, time.Since(start)
	return r
}

// Check reads the status the action starts from and decides from it, in
// the live-state pre-check's span; it sends nothing. It reports whether
// the action is to be sent (Perform) and, when it is not, the Result
// saying why: not needed (OK), refused or no such task (Err), a failure
// a restart cannot fix when Unattended, or the status could not be read
// (Err, no Verdict).
func Check(ctx context.Context, c Client, a Action, o Options) (Decision, Result, bool) {
	d, err := assess(ctx, c, a, o)
	if err != nil {
		return d, Result{Connector: a.Connector, Err: err}, false
	}
	r := Result{Connector: a.Connector, Verdict: d.Verdict, Reason: d.Reason, State: DescribeState(d.Status)}
	switch {
	case d.Verdict == NotNeeded:
		r.OK, r.Note = true, joinNote("not sent: "+d.Reason, d.expect.stillFailed(d.Status))
		return d, r, false
	case d.Verdict == Refused, d.Verdict == NoTask:
		r.Err = d.Err()
		return d, r, false
	case d.Verdict == Unfixable && o.Unattended:
		r.Note = "not sent: " + d.Reason
		return d, r, false
	}
	return d, r, true
}

// Perform sends the action Check decided to send and waits for its
// effect, each in its span.
func Perform(ctx context.Context, c Client, d Decision, o Options) Result {
	if err := send(ctx, c, d.Action); err != nil {
		return Result{Connector: d.Action.Connector, Verdict: d.Verdict, Reason: d.Reason, Err: err}
	}
	vctx, span := tracing.Start(ctx, "verify", attribute.String("connector", d.Action.Connector))
	r := Wait(vctx, c, d, o)
	span.SetAttributes(attribute.String("detail", r.Detail()))
	tracing.End(span, r.Err)
	r.Verdict, r.Reason = d.Verdict, d.Reason
	if d.Verdict == Unfixable {
		r.Note = joinNote("sent although "+d.Reason, r.Note)
	}
	return r
}

// assess reads the status the action starts from and decides from it,
// in the live-state pre-check's span.
func assess(ctx context.Context, c Client, a Action, o Options) (Decision, error) {
	ctx, span := tracing.Start(ctx, "live-state pre-check", attribute.String("connector", a.Connector))
	var st *connect.Status
	var err error
	if o.Unattended {
		st, err = ReadStatus(ctx, c, a.Connector)
	} else {
		st, err = StartingStatus(ctx, c, a.Connector, o)
	}
	if err != nil {
		err = fmt.Errorf("reading the status of %s: %w", a.Connector, err)
		tracing.End(span, err)
		return Decision{Action: a}, err
	}
	d := Decide(a, st)
	span.SetAttributes(attribute.String("verdict", string(d.Verdict)), attribute.String("detail", d.Reason))
	span.End()
	return d, nil
}

// send sends the action in its span, named for the action as a rule
// names it.
func send(ctx context.Context, c Client, a Action) error {
	name := a.Kind.RuleName()
	if name == "" {
		name = string(a.Kind)
	}
	ctx, span := tracing.Start(ctx, "action "+name, attribute.String("connector", a.Connector))
	err := Send(ctx, c, a)
	tracing.End(span, err)
	return err
}

// joinNote joins the parts that say something.
func joinNote(parts ...string) string {
	var said []string
	for _, p := range parts {
		if p != "" {
			said = append(said, p)
		}
	}
	return strings.Join(said, "; ")
}

// Wait polls the status until the action d decided on holds for Settle
// consecutive reads, an instance the action should have brought back
// stays FAILED past FailedGrace or fails again right after holding, or
// the timeout passes. The request has been sent.
func Wait(ctx context.Context, c Client, d Decision, o Options) Result {
	e := d.expect
	o = o.withDefaults()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var (
		streak      int
		failedSince time.Time
		last        string
		why         string
	)
	done := func(r Result) Result {
		r.Connector, r.Sent, r.Elapsed = e.Action.Connector, true, time.Since(start)
		return r
	}
	tick := time.NewTicker(o.PollInterval)
	defer tick.Stop()
	for {
		st, info, err := read(ctx, c, e)
		switch {
		case errors.Is(err, connect.ErrNotFound):
			return done(Result{State: last, Err: fmt.Errorf("was deleted while waiting for %s", e.Describe())})
		case err != nil && ctx.Err() == nil:
			// A worker restarting or a rebalance: keep reading until the
			// timeout rather than give up on one failed read.
			why = err.Error()
			o.report(e.Action.Connector, "reading the status failed, retrying: "+why)
		case err == nil:
			if now := DescribeState(st); now != last {
				o.report(e.Action.Connector, now)
				last = now
			}
			ok, reason := e.reached(st, info)
			failure := e.unexpectedFailure(st)
			switch {
			case ok:
				streak++
				if streak >= o.Settle {
					return done(Result{OK: true, State: last, Note: e.stillFailed(st)})
				}
			case failure != "" && streak > 0:
				return done(Result{State: last, Err: fmt.Errorf("%s right after the %s took effect: it failed again", failure, e.Action.Kind)})
			default:
				streak, why = 0, reason
			}
			if failure != "" && !ok {
				if failedSince.IsZero() {
					failedSince = time.Now()
				} else if time.Since(failedSince) >= o.FailedGrace {
					return done(Result{State: last, Err: fmt.Errorf("%s: %s did not bring it back; see the trace with `connectors list` or the worker log", failure, e.Action.Kind)})
				}
			} else {
				failedSince = time.Time{}
			}
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("not reached within %s: wanted %s", o.Timeout, e.Describe())
			if why != "" {
				msg += ", but " + why
			}
			if last != "" {
				msg += " (last seen: " + last + ")"
			}
			return done(Result{State: last, Err: errors.New(msg)})
		case <-tick.C:
		}
	}
}

func (o Options) report(connector, state string) {
	if o.OnState != nil {
		o.OnState(connector, state)
	}
}

// read returns the connector's status, and its definition when the
// expectation needs it.
func read(ctx context.Context, c Client, e expectation) (*connect.Status, *connect.Info, error) {
	st, err := ReadStatus(ctx, c, e.Action.Connector)
	if err != nil {
		return nil, nil, err
	}
	if e.tasksMax == "" {
		return st, nil, nil
	}
	ir, ok := c.(InfoReader)
	if !ok {
		return nil, nil, fmt.Errorf("cannot read the definition of %s to see tasks.max applied", e.Action.Connector)
	}
	info, err := ir.Info(ctx, e.Action.Connector)
	if err != nil {
		return nil, nil, err
	}
	return st, info, nil
}

// ErrNoStatusYet matches a connector that exists but whose status no
// worker has written yet: right after it was created, or while a
// rebalance assigns it. Connect answers both this and an unknown
// connector with the same 404 ("No status found for connector"), so only
// a read of its definition tells them apart.
var ErrNoStatusYet = errors.New("no status reported yet")

// ReadStatus reads a connector's status. A 404 is checked against the
// connector's definition when the client can read it: a connector that
// is defined has no status yet (ErrNoStatusYet, worth waiting for), one
// that is not is unknown (connect.ErrNotFound).
func ReadStatus(ctx context.Context, c Client, name string) (*connect.Status, error) {
	st, err := c.Status(ctx, name)
	if !errors.Is(err, connect.ErrNotFound) {
		return st, err
	}
	ir, ok := c.(InfoReader)
	if !ok {
		return nil, err
	}
	if _, ierr := ir.Info(ctx, name); ierr != nil {
		return nil, err
	}
	return nil, fmt.Errorf("connector %s is defined but no worker has reported its status yet: %w", name, ErrNoStatusYet)
}

// StartingStatus is the status an action starts from (Run's, and
// Scale's, whose request is a whole configuration). A connector that has
// no status yet is waited for, within the action's timeout: acting on it
// before its worker has started it would decide from nothing.
func StartingStatus(ctx context.Context, c Client, name string, o Options) (*connect.Status, error) {
	o = o.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	tick := time.NewTicker(o.PollInterval)
	defer tick.Stop()
	for {
		st, err := ReadStatus(ctx, c, name)
		if !errors.Is(err, ErrNoStatusYet) {
			return st, err
		}
		o.report(name, "waiting for the worker to report a status")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (waited %s)", err, o.Timeout)
		case <-tick.C:
		}
	}
}
