package syncer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Metric label values of horizon_sync_runs_total{result}.
const (
	ResultSuccess  = "success"
	ResultError    = "error"
	ResultCanceled = "canceled" // the process was stopping; not an alertable failure
)

// run is one sync run in progress: its log row, counts and progress.
type run struct {
	s       *Syncer
	r       store.SyncRun
	start   time.Time
	pages   int
	objects int64
	total   int64

	// mu guards skips: the provider reports skipped records from the
	// fetcher's goroutine.
	mu    sync.Mutex
	skips []store.SkippedRecord
	nskip int
	// meter counts the requests the run makes (see metered).
	meter *helpdesk.Meter
	// atEnd: the run has no log row until finish records it whole (see
	// ticketRun).
	atEnd bool
}

// skip is the run's helpdesk.Query.Skip: a record the provider could not
// use is counted and named in the run log, and does not fail the run.
func (r *run) skip(sk helpdesk.Skipped) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nskip++
	if len(r.skips) < store.MaxSkips {
		r.skips = append(r.skips, store.SkippedRecord{ID: sk.ID, Reason: sk.Reason})
	}
	r.s.m.SyncedObjects.WithLabelValues(string(r.r.Entity), "skipped").Inc()
	r.s.log.Warn("sync: record skipped", "entity", sk.Entity, "id", sk.ID, "reason", sk.Reason)
}

// record copies the skipped records and the requests counted so far into
// the run's log row.
func (r *run) record() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.r.Skipped, r.r.Skips = r.nskip, append(r.r.Skips[:0], r.skips...)
	if r.meter != nil {
		r.r.Requests, r.r.Paused = r.meter.Requests(), r.meter.Paused()
	}
}

// progress records the run's counts so far, after each committed page,
// so that a run whose process dies shows what it committed.
func (r *run) progress(ctx context.Context) {
	if r.r.ID == 0 {
		return
	}
	r.record()
	s := r.s
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.WriteTimeout)
	defer cancel()
	if err := s.st.UpdateSyncRun(wctx, s.o.Scope, r.r); err != nil {
		s.log.WarnContext(ctx, "sync: record sync run progress", "entity", r.r.Entity, "run", r.r.ID, "err", err)
	}
}

// interrupt marks the earlier runs of e left unfinished, by a process
// that died, as interrupted. The caller holds e's lock, so no run of e
// in this process is going on.
func (s *Syncer) interrupt(ctx context.Context, e helpdesk.Entity) {
	now := s.now()
	n, err := s.st.InterruptSyncRuns(ctx, s.o.Scope, e, now, now)
	switch {
	case err != nil:
		s.log.WarnContext(ctx, "sync: mark interrupted runs", "entity", e, "err", err)
	case n > 0:
		s.log.WarnContext(ctx, "sync: earlier runs were interrupted (their process stopped before they ended)",
			"entity", e, "runs", n)
	}
}

// startRun records a run as started. On error the returned run is still
// usable (finish records metrics) but has no log row.
func (s *Syncer) startRun(ctx context.Context, e helpdesk.Entity, trigger, ticketID string) (*run, error) {
	r := &run{s: s, start: time.Now(),
		r: store.SyncRun{Trigger: trigger, Entity: e, TicketID: ticketID, StartedAt: s.now()}}
	id, err := s.st.StartSyncRun(ctx, s.o.Scope, r.r)
	if err != nil {
		return r, fmt.Errorf("record sync run: %w", err)
	}
	r.r.ID = id
	s.o.Progress.Begin(r.update())
	return r, nil
}

// ticketRun starts a one-ticket run, which finish records whole with
// store.RecordSyncRun: it takes milliseconds, so showing it running is
// worth less than a write per callback. (InterruptSyncRuns leaves
// one-ticket runs alone, so none was ever found interrupted either.)
func (s *Syncer) ticketRun(e helpdesk.Entity, trigger, ticketID string) *run {
	r := &run{s: s, start: time.Now(), atEnd: true,
		r: store.SyncRun{Trigger: trigger, Entity: e, TicketID: ticketID, StartedAt: s.now()}}
	s.o.Progress.Begin(r.update())
	return r
}

// failRun records a run that failed before it could start streaming.
func (s *Syncer) failRun(ctx context.Context, e helpdesk.Entity, trigger string, cause error) (store.SyncRun, error) {
	r, err := s.startRun(ctx, e, trigger, "")
	return r.finish(ctx, errors.Join(cause, err))
}

// count asks a provider that implements Counter for the number of records
// a query selects, when someone is watching progress.
func (s *Syncer) count(ctx context.Context, r *run, e helpdesk.Entity, q helpdesk.Query) {
	c, ok := s.p.(Counter)
	if _, nop := s.o.Progress.(nopProgress); !ok || nop {
		return
	}
	n, err := c.Count(ctx, e, q)
	if err != nil {
		s.log.DebugContext(ctx, "sync: count records", "entity", e, "err", err)
		return
	}
	r.total = int64(n)
}

// metered returns ctx with a meter counting the run's requests; a
// backfill's requests are paced to leave the PSA's budget reserve.
func (r *run) metered(ctx context.Context) context.Context {
	r.meter = &helpdesk.Meter{Entity: r.r.Entity, Paced: r.r.Trigger == store.TriggerBackfill}
	return helpdesk.WithMeter(ctx, r.meter)
}

// page counts a page received and reports progress.
func (r *run) page(objects int) {
	r.pages++
	r.objects += int64(objects)
	r.s.o.Progress.Update(r.update())
}

// add counts a page written (failed records are those the store
// refused).
func (r *run) add(res store.UpsertResult, failed int) {
	r.r.Created += res.Created
	r.r.Updated += res.Updated
	r.r.Unchanged += res.Unchanged
	r.r.Failed += failed
	m, e := r.s.m.SyncedObjects, string(r.r.Entity)
	for op, n := range map[string]int{"created": res.Created, "updated": res.Updated,
		"unchanged": res.Unchanged, "failed": failed} {
		if n > 0 {
			m.WithLabelValues(e, op).Add(float64(n))
		}
	}
}

func (r *run) update() ProgressUpdate {
	return ProgressUpdate{Entity: r.r.Entity, Trigger: r.r.Trigger, Objects: r.objects,
		Pages: r.pages, Total: r.total, Elapsed: time.Since(r.start)}
}

// finish records the run's end in the log, the metrics and the progress
// report, and returns the run and its error wrapped for the entity.
func (r *run) finish(ctx context.Context, err error) (store.SyncRun, error) {
	s := r.s
	err = s.wrap(r.r.Entity, err)
	r.r.FinishedAt = s.now()
	r.record()
	r.r.Outcome = store.RunOK
	if err != nil {
		r.r.Error = err.Error()
		r.r.Outcome = store.RunFailed
		if canceled(ctx, err) {
			r.r.Outcome = store.RunCancelled
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.WriteTimeout)
	defer cancel()
	switch {
	case r.r.ID != 0:
		if ferr := s.st.FinishSyncRun(wctx, s.o.Scope, r.r); ferr != nil {
			s.log.ErrorContext(ctx, "sync: record sync run end", "entity", r.r.Entity, "run", r.r.ID, "err", ferr)
		}
	case r.atEnd:
		// The sync's result stands without its log row.
		if id, ferr := s.st.RecordSyncRun(wctx, s.o.Scope, r.r); ferr != nil {
			s.log.ErrorContext(ctx, "sync: record sync run", "entity", r.r.Entity, "ticket", r.r.TicketID, "err", ferr)
		} else {
			r.r.ID = id
		}
	}
	r.observe(ctx, err)
	s.o.Progress.End(r.update(), err)
	return r.r, err
}

// observe updates the metrics and logs the run.
func (r *run) observe(ctx context.Context, err error) {
	s, e := r.s, string(r.r.Entity)
	result := ResultSuccess
	switch {
	case canceled(ctx, err):
		result = ResultCanceled
	case err != nil:
		result = ResultError
	}
	s.m.SyncRuns.WithLabelValues(e, r.r.Trigger, result).Inc()
	s.m.SyncDuration.WithLabelValues(e).Observe(time.Since(r.start).Seconds())
	if err == nil {
		s.m.SyncLastSuccess.WithLabelValues(e).SetToCurrentTime()
		if r.r.Trigger == store.TriggerPoll && r.r.Created+r.r.Updated > 0 {
			s.m.SyncLastChange.WithLabelValues(e).SetToCurrentTime()
		}
	}
	attrs := []any{"entity", e, "trigger", r.r.Trigger, "created", r.r.Created, "updated", r.r.Updated,
		"unchanged", r.r.Unchanged, "failed", r.r.Failed, "skipped", r.r.Skipped, "pages", r.pages,
		"requests", r.r.Requests,
		"duration", time.Since(r.start).Round(time.Millisecond)}
	if r.r.TicketID != "" {
		attrs = append(attrs, "ticket", r.r.TicketID)
	}
	if r.r.Paused > 0 {
		attrs = append(attrs, "paused", r.r.Paused.Round(time.Second))
	}
	switch result {
	case ResultSuccess:
		s.log.InfoContext(ctx, "sync run finished", attrs...)
	case ResultCanceled:
		s.log.InfoContext(ctx, "sync run stopped", append(attrs, "err", err)...)
	default:
		s.log.ErrorContext(ctx, "sync run failed", append(attrs, "err", err)...)
	}
}

// canceled reports whether err ended a run because the process was
// stopping (its context cancelled, as on SIGTERM): the run is recorded
// as cancelled, not failed.
func canceled(ctx context.Context, err error) bool {
	return err != nil && errors.Is(ctx.Err(), context.Canceled)
}
