package smoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/syncer"
)

// cleanupTimeout bounds the clean-up, which runs even after ctx ended.
const cleanupTimeout = 30 * time.Second

// run is one smoke test in progress.
type run struct {
	o   Options
	rep Report

	marker  string
	ticket  helpdesk.Ticket // as created; ExternalID "" until then
	stored  bool            // the ticket is in Horizon's store
	picks   []helpdesk.Picklist
	user    string          // the Horizon user writes are made as
	member  helpdesk.Member // the helpdesk user mapped to it
	stopped string          // why the remaining steps do not run
}

// outcome is what a step found.
type outcome struct{ result, detail, next string }

func pass(format string, args ...any) outcome { return outcome{Pass, fmt.Sprintf(format, args...), ""} }
func skip(format string, args ...any) outcome { return outcome{Skip, fmt.Sprintf(format, args...), ""} }
func fail(next, format string, args ...any) outcome {
	return outcome{Fail, fmt.Sprintf(format, args...), next}
}

// Run runs every step in order and returns the report. Clean-up runs even
// when a step failed or ctx ended. The run is recorded in the sync run log
// (trigger smoke) and in the metrics. The error is non-nil only when the
// run could not start.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.check(); err != nil {
		return Report{}, err
	}
	r := &run{o: o, marker: newMarker()}
	r.rep = Report{Account: o.Scope.Account, Provider: o.Scope.Provider, StartedAt: o.Now().UTC()}
	log := o.Logger.With("component", "smoke")
	log.InfoContext(ctx, "smoke test started", "marker", r.marker)

	r.step(ctx, StepConnect, r.connect)
	r.step(ctx, StepCreate, r.create)
	r.step(ctx, StepCallback, r.callback)
	r.step(ctx, StepStatus, r.status)
	r.step(ctx, StepNote, r.note)
	r.step(ctx, StepAssign, r.assign)
	r.step(ctx, StepTime, r.timeEntry)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	r.stopped = "" // clean-up is tried whatever stopped the others
	r.step(cctx, StepCleanup, r.cleanup)
	cancel()
	r.rep.Duration = o.Now().Sub(r.rep.StartedAt)

	r.record(context.WithoutCancel(ctx))
	if f := r.rep.FirstFailure(); f != nil {
		log.WarnContext(ctx, "smoke test failed", "step", f.Step, "detail", f.Detail, "ticket", r.rep.TicketID)
	} else {
		log.InfoContext(ctx, "smoke test passed", "ticket", r.rep.TicketID, "duration", r.rep.Duration)
	}
	return r.rep, nil
}

// step runs one step, timed, unless an earlier failure stopped the run.
func (r *run) step(ctx context.Context, name string, f func(context.Context) outcome) {
	start := r.o.Now()
	var out outcome
	switch {
	case r.stopped != "":
		out = skip("not run: %s", r.stopped)
	case ctx.Err() != nil:
		out = fail("reconciler smoke --timeout", "not run: the smoke test ran out of time (--timeout)")
	default:
		out = f(ctx)
	}
	r.rep.Steps = append(r.rep.Steps, StepResult{Step: name, Result: out.result, Duration: r.o.Now().Sub(start),
		Detail: out.detail, Next: out.next})
}

// stopOn stops the remaining steps when err means none of them can work.
func (r *run) stopOn(err error) {
	if errors.Is(err, helpdesk.ErrUnauthorized) || errors.Is(err, helpdesk.ErrForbidden) {
		r.stopped = "the PSA refused the credentials"
	}
}

// describe puts a PSA error in an admin's words: an authentication failure
// names the settings to check.
func (r *run) describe(err error) string {
	if errors.Is(err, helpdesk.ErrUnauthorized) || errors.Is(err, helpdesk.ErrForbidden) {
		return (&syncer.AuthError{Provider: r.o.Scope.Provider, Forbidden: errors.Is(err, helpdesk.ErrForbidden), Err: err}).Error()
	}
	return err.Error()
}

// cmd is a reconciler command line for the account's file.
func (r *run) cmd(format string, args ...any) string {
	file := r.o.File
	if file == "" {
		file = "horizon.yaml"
	}
	return "reconciler " + fmt.Sprintf(format, args...) + " -f " + file
}

// record writes the run's summary row to the sync run log (once the test
// ticket is known) and sets the metrics.
func (r *run) record(ctx context.Context) {
	passed, failed := 0, 0
	for _, s := range r.rep.Steps {
		switch s.Result {
		case Pass:
			passed++
		case Fail:
			failed++
		}
	}
	sr := store.SyncRun{Trigger: Trigger, Entity: Entity, TicketID: r.rep.TicketID, StartedAt: r.rep.StartedAt}
	id, err := r.o.Store.StartSyncRun(ctx, r.o.Scope, sr)
	if err == nil {
		sr.ID, sr.FinishedAt, sr.Created, sr.Failed = id, r.o.Now().UTC(), passed, failed
		if f := r.rep.FirstFailure(); f != nil {
			sr.Error = f.Step + ": " + f.Detail
		}
		err = r.o.Store.FinishSyncRun(ctx, r.o.Scope, sr)
	}
	if err != nil {
		r.o.Logger.WarnContext(ctx, "record smoke run", "err", err)
	}
	if m := r.o.Metrics; m != nil {
		m.Smoke.LastRun.Set(float64(r.o.Now().Unix()))
		m.Smoke.Runs.WithLabelValues(r.rep.Result()).Inc()
		ok := 0.0
		if r.rep.Passed() {
			ok = 1
		}
		m.Smoke.Success.Set(ok)
		for _, s := range r.rep.Steps {
			if s.Result != Skip {
				m.Smoke.StepDuration.WithLabelValues(s.Step).Observe(s.Duration.Seconds())
			}
		}
	}
}

// LastRun returns the last smoke test's summary row from the sync run log:
// Created counts the steps that passed, Failed those that failed, Error
// names the first failure, TicketID the test ticket. ok is false when the
// account never ran one.
func LastRun(ctx context.Context, st store.Store, scope store.Scope) (run store.SyncRun, ok bool, err error) {
	runs, err := st.SyncRuns(ctx, scope, store.SyncRunFilter{Trigger: Trigger, Limit: 1})
	if err != nil || len(runs) == 0 {
		return store.SyncRun{}, false, err
	}
	return runs[0], true, nil
}

// newMarker is a token unique to one run, put in the ticket's summary.
func newMarker() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "hz-smoke-" + hex.EncodeToString(b[:])
}
