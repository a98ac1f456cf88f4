package syncer

import (
	"context"
	"errors"
	"iter"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// source adapts one entity's records to the pipeline.
type source[T any] struct {
	entity helpdesk.Entity
	stream func(helpdesk.Provider, context.Context, helpdesk.Query) iter.Seq2[[]T, error]
	// meta returns a record's external ID and last-updated time.
	meta func(*T) (string, time.Time)
	// fill puts records into the batch slice of the entity.
	fill func(*store.Batch, []T)
}

var (
	tickets = source[helpdesk.Ticket]{helpdesk.EntityTickets, helpdesk.Provider.Tickets,
		func(t *helpdesk.Ticket) (string, time.Time) { return t.ExternalID, t.UpdatedAt },
		func(b *store.Batch, r []helpdesk.Ticket) { b.Tickets = r }}
	contacts = source[helpdesk.Contact]{helpdesk.EntityContacts, helpdesk.Provider.Contacts,
		func(c *helpdesk.Contact) (string, time.Time) { return c.ExternalID, c.UpdatedAt },
		func(b *store.Batch, r []helpdesk.Contact) { b.Contacts = r }}
	companies = source[helpdesk.Company]{helpdesk.EntityCompanies, helpdesk.Provider.Companies,
		func(c *helpdesk.Company) (string, time.Time) { return c.ExternalID, c.UpdatedAt },
		func(b *store.Batch, r []helpdesk.Company) { b.Companies = r }}
	timeEntries = source[helpdesk.TimeEntry]{helpdesk.EntityTimeEntries, helpdesk.Provider.TimeEntries,
		func(t *helpdesk.TimeEntry) (string, time.Time) { return t.ExternalID, t.UpdatedAt },
		func(b *store.Batch, r []helpdesk.TimeEntry) { b.TimeEntries = r }}
	members = source[helpdesk.Member]{helpdesk.EntityMembers, helpdesk.Provider.Members,
		func(m *helpdesk.Member) (string, time.Time) { return m.ExternalID, m.UpdatedAt },
		func(b *store.Batch, r []helpdesk.Member) { b.Members = r }}
)

// execute runs one pass of entity e and returns its run and the
// watermark now stored.
func (s *Syncer) execute(ctx context.Context, e helpdesk.Entity, p pass) (store.SyncRun, store.Watermark, error) {
	switch e {
	case helpdesk.EntityTickets:
		return runPass(ctx, s, tickets, p)
	case helpdesk.EntityContacts:
		return runPass(ctx, s, contacts, p)
	case helpdesk.EntityCompanies:
		return runPass(ctx, s, companies, p)
	case helpdesk.EntityTimeEntries:
		return runPass(ctx, s, timeEntries, p)
	default:
		return runPass(ctx, s, members, p)
	}
}

// runPass records a run around one streamed pass.
func runPass[T any](ctx context.Context, s *Syncer, src source[T], p pass) (store.SyncRun, store.Watermark, error) {
	r, err := s.startRun(ctx, src.entity, p.trigger, "")
	if err != nil {
		out, err := r.finish(ctx, err)
		return out, p.prev, err
	}
	p.query.Skip = r.skip
	ctx = r.metered(ctx)
	s.count(ctx, r, src.entity, p.query)
	w := &writer[T]{s: s, src: src, p: p, run: r, wm: p.prev, start: s.psaNow(ctx)}
	if !p.started.IsZero() {
		w.start = earlier(w.start, p.started)
	}
	w.maxSeen = p.seen
	out, err := r.finish(ctx, w.drain(ctx))
	return out, w.wm, err
}

// page is one element of the fetcher's channel: records, an error, or the
// end of a stream that completed.
type page[T any] struct {
	items []T
	err   error
	done  bool
}

// fetch reads the stream into out until it ends, fails or ctx is done,
// then closes out. It sends a done page only when the stream ended on its
// own: a provider that stops quietly on a cancelled context must not look
// complete, or the watermark would advance past records never fetched.
func fetch[T any](ctx context.Context, seq iter.Seq2[[]T, error], out chan<- page[T]) {
	defer close(out)
	for items, err := range seq {
		select {
		case out <- page[T]{items: items, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	select {
	case out <- page[T]{done: true}:
	case <-ctx.Done():
	}
}

// errStopped is returned when a stream stopped without an error or a
// cancelled context; it cannot happen unless fetch is broken.
var errStopped = errors.New("page stream stopped before its end")

// writer stores a pass's pages, one page behind the fetcher, so that the
// last page can carry the new watermark.
type writer[T any] struct {
	s       *Syncer
	src     source[T]
	p       pass
	run     *run
	pending []T
	held    bool // pending holds a page not yet written
	// last is the ID of the last record of the page received last, and
	// pendingLast that of the pending page: a resumable pass's position.
	last, pendingLast string
	// maxSeen is the largest last-updated time received, pendingSeen
	// that as of the pending page: a resumable pass commits it with the
	// page, so that the resumed pass ends with the watermark an
	// uninterrupted one would store.
	maxSeen, pendingSeen time.Time
	// start is the PSA's time when the run began: the watermark never
	// passes it, since a record changed after its page was read carries
	// a later time and the next run must fetch it.
	start time.Time
	wm    store.Watermark // the watermark stored
}

// drain runs the pipeline: a fetcher goroutine and this writer.
func (w *writer[T]) drain(ctx context.Context) error {
	fctx, cancel := context.WithCancel(ctx)
	pages := make(chan page[T], 1)
	var wg sync.WaitGroup
	wg.Go(func() { fetch(fctx, w.src.stream(w.s.p, fctx, w.p.query), pages) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	for pg := range pages {
		switch {
		case pg.err != nil:
			return errors.Join(pg.err, w.flush(ctx, nil))
		case pg.done:
			return w.finish(ctx)
		}
		items := w.keep(ctx, pg.items)
		if err := w.flush(ctx, nil); err != nil {
			return err
		}
		w.pending, w.held, w.pendingLast = items, len(items) > 0 || w.p.progress != nil && w.last != "", w.last
		w.pendingSeen = w.maxSeen
		if ctx.Err() != nil {
			break
		}
	}
	// The context was cancelled: finish the batch in hand, leave the
	// watermark.
	if err := w.flush(ctx, nil); err != nil {
		return err
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return errStopped
}

// finish writes the last page with the new watermark.
func (w *writer[T]) finish(ctx context.Context) error {
	wm := w.p.next(w.maxSeen)
	wm.UpdatedThrough = earlier(wm.UpdatedThrough, w.start)
	if !w.held && sameWatermark(wm, w.p.prev) {
		return nil
	}
	if err := w.flush(ctx, &wm); err != nil {
		return err
	}
	w.wm = wm
	return nil
}

func sameWatermark(a, b store.Watermark) bool {
	return a.UpdatedThrough.Equal(b.UpdatedThrough) && a.BackfilledFrom.Equal(b.BackfilledFrom) && a.Cursor == b.Cursor
}

// keep drops records outside the queried range and records without an
// ID, and tracks the largest last-updated time among the rest.
func (w *writer[T]) keep(ctx context.Context, items []T) []T {
	w.run.page(len(items))
	if len(items) > 0 {
		w.last, _ = w.src.meta(&items[len(items)-1])
	}
	q := w.p.query
	horizon := w.s.now().Add(w.s.o.MaxClockSkew)
	kept, noID, ahead := items[:0], 0, 0
	for i := range items {
		id, at := w.src.meta(&items[i])
		switch {
		case id == "":
			noID++
			continue
		case !at.IsZero() && (at.Before(q.Since) || !q.Until.IsZero() && at.After(q.Until)):
			continue
		case at.After(horizon):
			ahead++
		default:
			w.maxSeen = later(w.maxSeen, store.NormalizeTime(at))
		}
		kept = append(kept, items[i])
	}
	clear(items[len(kept):])
	w.run.r.Failed += noID
	if noID > 0 {
		w.s.log.WarnContext(ctx, "sync: records without an ID skipped", "entity", w.src.entity, "count", noID)
	}
	if ahead > 0 {
		w.s.log.WarnContext(ctx, "sync: last-updated times far ahead of the local clock do not move the watermark",
			"entity", w.src.entity, "count", ahead, "maxClockSkew", w.s.o.MaxClockSkew)
	}
	return kept
}

// flush writes the held page, with wm when not nil. A write runs to the
// end even when ctx is cancelled: shutdown finishes the batch in hand.
func (w *writer[T]) flush(ctx context.Context, wm *store.Watermark) error {
	if !w.held && wm == nil {
		return nil
	}
	if wm == nil && w.p.progress != nil && w.pendingLast != "" {
		// A page that is not the last commits the resume point with it.
		at := w.p.progress(w.pendingLast, w.start, w.pendingSeen)
		wm = &at
	}
	b := store.Batch{Entity: w.src.entity, Watermark: wm, Authoritative: w.p.authoritative}
	w.src.fill(&b, w.pending)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.s.o.WriteTimeout)
	defer cancel()
	res, err := w.s.st.WriteBatch(wctx, w.s.o.Scope, b)
	n := len(w.pending)
	w.pending, w.held = nil, false
	if err != nil {
		w.run.add(store.UpsertResult{}, n)
		return err
	}
	w.run.add(res, 0)
	if wm == nil || wm.Cursor != "" { // the last page's counts are recorded by finish
		w.run.progress(ctx)
	}
	return nil
}
