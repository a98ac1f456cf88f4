package syncer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// beginning is the BackfilledFrom of an entity backfilled from the start
// of the PSA's history (reference data, or tickets with no ingest window).
// It differs from the zero time, which means "never backfilled".
var beginning = time.Unix(0, 0).UTC()

// pass is one sync run of one entity: the query to stream and how the
// watermark moves when the stream completes.
type pass struct {
	trigger string
	query   helpdesk.Query
	prev    store.Watermark
	// authoritative: the records are the PSA's current state, asked for
	// explicitly (a manual full sync), and replace stored ones that
	// differ whatever their last-updated times (store.Batch).
	authoritative bool
	// next returns the watermark to store with the last page, given the
	// largest last-updated time seen (zero when none).
	next func(maxSeen time.Time) store.Watermark
	// progress, when not nil, returns the watermark to store with a page
	// that is not the last, given the ID of its last record, the run's
	// start and the largest last-updated time received up to it: the
	// resume point of a backfill (Resumer).
	progress func(after string, start, seen time.Time) store.Watermark
	// started, when not zero, is when the backfill this pass resumes
	// first started: the watermark never passes it.
	started time.Time
	// seen is the largest last-updated time the interrupted backfill
	// this pass resumes had received (zero when none).
	seen time.Time
}

// SyncEntity syncs one entity and returns the runs it recorded: a
// backfill first when the entity was never backfilled (the only run then)
// or the ingest window was widened (the gap only), then an incremental
// run recorded with trigger. With full, one run re-fetches the whole
// window regardless of the watermark.
func (s *Syncer) SyncEntity(ctx context.Context, e helpdesk.Entity, trigger string, full bool) ([]store.SyncRun, error) {
	if e != helpdesk.EntityMembers && !slices.Contains(s.o.Entities, e) {
		return nil, fmt.Errorf("sync %s: entity not enabled in horizon.yaml", e)
	}
	if e == helpdesk.EntityNotes {
		return s.syncNotes(ctx, trigger, full)
	}
	unlock, err := s.lock(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", e, err)
	}
	defer unlock()
	s.interrupt(ctx, e)
	wm, err := s.st.Watermark(ctx, s.o.Scope, e)
	if err != nil {
		r, err := s.failRun(ctx, e, trigger, fmt.Errorf("read watermark: %w", err))
		return []store.SyncRun{r}, err
	}
	var runs []store.SyncRun
	start := s.windowStart(e)
	if !full && (wm.BackfilledFrom.IsZero() || start.Before(wm.BackfilledFrom)) {
		first := wm.BackfilledFrom.IsZero()
		r, next, err := s.execute(ctx, e, s.backfillPass(e, wm, start))
		runs = append(runs, r)
		if err != nil || first {
			return runs, err
		}
		wm = next
	}
	p := s.incrementalPass(e, wm, trigger)
	if full {
		p = s.fullPass(wm, start, trigger)
	}
	r, _, err := s.execute(ctx, e, p)
	return append(runs, r), err
}

// windowed reports whether the ingest window applies to e.
func windowed(e helpdesk.Entity) bool {
	return e == helpdesk.EntityTickets || e == helpdesk.EntityTimeEntries
}

// windowStart returns the oldest last-updated time e is synced from.
func (s *Syncer) windowStart(e helpdesk.Entity) time.Time {
	if !windowed(e) || s.o.IngestWindow <= 0 {
		return beginning
	}
	return s.now().Add(-s.o.IngestWindow)
}

// backfillPass backfills from start: the whole window the first time,
// only the gap down to start when the window was widened. Where the
// provider can resume e, each page commits the resume point, and a
// backfill interrupted earlier continues after its last committed page.
func (s *Syncer) backfillPass(e helpdesk.Entity, wm store.Watermark, start time.Time) pass {
	p := pass{trigger: store.TriggerBackfill, prev: wm,
		query: helpdesk.Query{Since: since(start), PageSize: s.o.PageSize}}
	if c, ok := s.resumeFrom(e, wm); ok {
		start, p.started, p.seen = later(c.Since, beginning), c.Start, c.Seen
		p.query.Since, p.query.After = since(start), c.After
		s.log.Info("sync: resuming an interrupted backfill", "entity", e, "after", c.After)
	}
	if wm.BackfilledFrom.IsZero() {
		p.next = func(seen time.Time) store.Watermark {
			return store.Watermark{UpdatedThrough: later(wm.UpdatedThrough, seen), BackfilledFrom: start}
		}
	} else {
		p.query.Until = wm.BackfilledFrom
		p.next = func(time.Time) store.Watermark {
			return store.Watermark{UpdatedThrough: wm.UpdatedThrough, BackfilledFrom: start}
		}
	}
	if s.resumable(e) {
		p.progress = func(after string, runStart, seen time.Time) store.Watermark {
			c := cursor{After: after, Since: start, Start: runStart, Seen: seen}
			if !p.started.IsZero() {
				c.Start = p.started
			}
			return store.Watermark{UpdatedThrough: wm.UpdatedThrough, BackfilledFrom: wm.BackfilledFrom, Cursor: c.String()}
		}
	}
	return p
}

// incrementalPass fetches what changed since the watermark, less the
// overlap; members of providers without a last-updated filter on users
// are fetched in full.
func (s *Syncer) incrementalPass(e helpdesk.Entity, wm store.Watermark, trigger string) pass {
	// A watermark ahead of the local clock (stored by an older version
	// that trusted a future-dated record) is not trusted either.
	from := later(earlier(wm.UpdatedThrough, s.now()).Add(-s.o.Overlap), wm.BackfilledFrom)
	if e == helpdesk.EntityMembers && !s.caps.IncrementalMembers {
		from = beginning
	}
	return pass{trigger: trigger, prev: wm,
		query: helpdesk.Query{Since: since(from), PageSize: s.o.PageSize},
		next: func(seen time.Time) store.Watermark {
			return store.Watermark{UpdatedThrough: later(wm.UpdatedThrough, seen), BackfilledFrom: wm.BackfilledFrom}
		}}
}

// fullPass re-fetches the whole window from start. A manual one takes
// the PSA's records as the truth.
func (s *Syncer) fullPass(wm store.Watermark, start time.Time, trigger string) pass {
	return pass{trigger: trigger, prev: wm, authoritative: trigger == store.TriggerManual,
		query: helpdesk.Query{Since: since(start), PageSize: s.o.PageSize},
		next: func(seen time.Time) store.Watermark {
			from := start
			if !wm.BackfilledFrom.IsZero() && wm.BackfilledFrom.Before(start) {
				from = wm.BackfilledFrom
			}
			return store.Watermark{UpdatedThrough: later(wm.UpdatedThrough, seen), BackfilledFrom: from}
		}}
}

// since turns a window start into Query.Since: zero for the beginning of
// history, so that no provider is sent a 1970 filter.
func since(t time.Time) time.Time {
	if !t.After(beginning) {
		return time.Time{}
	}
	return t
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
