package syncer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// DefaultNotesPerRun bounds the tickets whose notes one notes run fetches.
const DefaultNotesPerRun = 100

// No PSA lists notes across tickets, so notes are fetched one request per
// ticket. The notes entity follows the stored tickets: a run fetches the
// notes of the tickets stored with a last-updated time after the notes
// position (its watermark: UpdatedThrough and, in Cursor, the ticket ID
// at that time), oldest first, up to Options.NotesPerRun of them; the
// rest wait for the next run. Adding a note moves a ticket's last-updated
// time in every supported PSA, so a poll that stored the change leads the
// notes run that follows it (notes sync after tickets) to the ticket.
// BackfilledFrom is set once a run has caught up with every stored
// ticket: until then the runs are recorded as backfills.

// syncNotes runs one notes pass. With full the position starts over, so
// every stored ticket's notes are fetched again, NotesPerRun per run.
func (s *Syncer) syncNotes(ctx context.Context, trigger string, full bool) ([]store.SyncRun, error) {
	e := helpdesk.EntityNotes
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
	// A widened ingest window brings older tickets, behind the position:
	// start over, as a backfill.
	if full || !wm.BackfilledFrom.IsZero() && s.windowStart(helpdesk.EntityTickets).Before(wm.BackfilledFrom) {
		wm = store.Watermark{}
	}
	if wm.BackfilledFrom.IsZero() {
		trigger = store.TriggerBackfill
	}
	r, err := s.startRun(ctx, e, trigger, "")
	if err != nil {
		run, err := r.finish(ctx, err)
		return []store.SyncRun{run}, err
	}
	due, more, err := s.notesDue(ctx, wm)
	if err != nil {
		run, err := r.finish(ctx, err)
		return []store.SyncRun{run}, err
	}
	r.total = int64(len(due))
	for _, t := range due {
		err := s.fetchNotes(ctx, r, t)
		if refused(err) {
			// The PSA refuses this ticket's notes for good: name it in
			// the run log and go on, so that one ticket cannot hold up
			// every other's notes. Its notes come with its next
			// one-ticket sync.
			r.skip(helpdesk.Skipped{Entity: e, ID: t.ExternalID, Reason: err.Error()})
			err = nil
		}
		if err != nil {
			// Rate limits, outages, credentials: the position stays
			// before this ticket and the next run tries it again.
			run, err := r.finish(ctx, err)
			return []store.SyncRun{run}, err
		}
		wm.UpdatedThrough, wm.Cursor = store.NormalizeTime(t.UpdatedAt), t.ExternalID
		if !more && t.ExternalID == due[len(due)-1].ExternalID && wm.BackfilledFrom.IsZero() {
			wm.BackfilledFrom = s.windowStart(helpdesk.EntityTickets)
		}
		if err := s.setWatermark(ctx, e, wm); err != nil {
			run, err := r.finish(ctx, err)
			return []store.SyncRun{run}, err
		}
		r.progress(ctx)
	}
	if len(due) == 0 && wm.BackfilledFrom.IsZero() {
		wm.BackfilledFrom = s.windowStart(helpdesk.EntityTickets)
		if err := s.setWatermark(ctx, e, wm); err != nil {
			run, err := r.finish(ctx, err)
			return []store.SyncRun{run}, err
		}
	}
	if more {
		s.log.InfoContext(ctx, "sync: more tickets' notes to fetch than one run takes; the rest follow in the next runs",
			"per_run", s.o.NotesPerRun)
	}
	run, err := r.finish(ctx, nil)
	return []store.SyncRun{run}, err
}

// notesDue returns the stored tickets after the notes position, oldest
// first, at most NotesPerRun, and whether more are due.
func (s *Syncer) notesDue(ctx context.Context, wm store.Watermark) ([]helpdesk.Ticket, bool, error) {
	var due []helpdesk.Ticket
	for t, err := range s.st.Tickets(ctx, s.o.Scope) {
		if err != nil {
			return nil, false, fmt.Errorf("read stored tickets: %w", err)
		}
		if after(t, wm) {
			t.Raw = nil
			due = append(due, t)
		}
	}
	slices.SortFunc(due, func(a, b helpdesk.Ticket) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.ExternalID, b.ExternalID))
	})
	if len(due) > s.o.NotesPerRun {
		return due[:s.o.NotesPerRun], true, nil
	}
	return due, false, nil
}

// after reports whether t lies after the notes position wm.
func after(t helpdesk.Ticket, wm store.Watermark) bool {
	u, through := store.NormalizeTime(t.UpdatedAt), store.NormalizeTime(wm.UpdatedThrough)
	return u.After(through) || u.Equal(through) && t.ExternalID > wm.Cursor
}

// fetchNotes fetches and stores one ticket's notes within run r. A deleted
// ticket's notes are not asked for (the PSA answers not found); the stored
// ones stay.
//
// Fetches take turns (notesMu), so that of two fetches of one ticket's
// notes, the later one is stored last: notes carry no last-updated time
// to compare, and the latest answer of the PSA wins.
func (s *Syncer) fetchNotes(ctx context.Context, r *run, t helpdesk.Ticket) error {
	if t.Deleted {
		return nil
	}
	s.notesMu.Lock()
	defer s.notesMu.Unlock()
	ns, err := s.p.Notes(ctx, t.ExternalID)
	if errors.Is(err, helpdesk.ErrNotFound) {
		s.log.InfoContext(ctx, "sync: ticket gone from the PSA, its notes are not fetched", "ticket", t.ExternalID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("notes of ticket %s: %w", t.ExternalID, err)
	}
	r.page(len(ns))
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.WriteTimeout)
	defer cancel()
	res, err := s.st.UpsertNotes(wctx, s.o.Scope, ns)
	if err != nil {
		r.add(store.UpsertResult{}, len(ns))
		return fmt.Errorf("store notes of ticket %s: %w", t.ExternalID, err)
	}
	r.add(res, 0)
	return nil
}

// refused reports whether the PSA refused a ticket's notes in a way a
// retry cannot change (an invalid request for that ticket).
func refused(err error) bool {
	return err != nil && errors.Is(err, helpdesk.ErrInvalid) && !helpdesk.Retryable(err) &&
		!errors.Is(err, helpdesk.ErrUnauthorized) && !errors.Is(err, helpdesk.ErrForbidden)
}

// setWatermark stores the notes position, even when ctx is cancelled: the
// notes it covers are stored.
func (s *Syncer) setWatermark(ctx context.Context, e helpdesk.Entity, wm store.Watermark) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.WriteTimeout)
	defer cancel()
	if err := s.st.SetWatermark(wctx, s.o.Scope, e, wm); err != nil {
		return fmt.Errorf("store watermark: %w", err)
	}
	return nil
}

// syncTicketNotes fetches one ticket's notes, recorded as a notes run of
// the ticket: the one extra request of a one-ticket sync when notes are
// enabled. The notes position does not move.
func (s *Syncer) syncTicketNotes(ctx context.Context, t helpdesk.Ticket, trigger string) (store.SyncRun, error) {
	r := s.ticketRun(helpdesk.EntityNotes, trigger, t.ExternalID)
	return r.finish(ctx, s.fetchNotes(ctx, r, t))
}

// notesEnabled reports whether horizon.yaml enables the notes entity.
func (s *Syncer) notesEnabled() bool { return slices.Contains(s.o.Entities, helpdesk.EntityNotes) }
