package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// SyncTicket fetches one ticket from the PSA and stores it: the callback
// path between polls (a callback is a hint, never data) and the manual
// "sync this ticket". The run is recorded with trigger and the ticket's
// ID once it has ended (a failure to record it is logged, and the sync's
// own result returned); the watermark does not move. A manual one takes
// the PSA's ticket as the truth (store.Batch.Authoritative): it replaces
// the stored copy even when that one claims a later last-updated time.
//
// When the PSA no longer has the ticket (helpdesk.ErrNotFound), the stored
// copy is marked deleted with UpdatedAt now, or just after its stored
// UpdatedAt if the local clock is behind, so the tombstone wins over it.
// A ticket neither the PSA nor the store knows is left alone: a tombstone
// for it could hide the ticket when a lagging PSA returns it later, and a
// forged callback would fill the store with them.
//
// When the notes entity is enabled, the ticket's notes are fetched too
// (one more request), recorded as a notes run of the ticket; its error,
// if any, is joined to the ticket run's.
func (s *Syncer) SyncTicket(ctx context.Context, externalID, trigger string) (store.SyncRun, error) {
	r := s.ticketRun(helpdesk.EntityTickets, trigger, externalID)
	ctx = r.metered(ctx)
	r.page(1)
	t, err := s.p.GetTicket(ctx, externalID)
	if errors.Is(err, helpdesk.ErrNotFound) {
		var ok bool
		if t, ok, err = s.tombstone(ctx, externalID); err == nil && !ok {
			s.log.InfoContext(ctx, "sync: ticket unknown to the PSA and the store", "ticket", externalID)
			return r.finish(ctx, nil)
		}
	}
	if err != nil {
		return r.finish(ctx, fmt.Errorf("ticket %s: %w", externalID, err))
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.WriteTimeout)
	defer cancel()
	res, err := s.st.WriteBatch(wctx, s.o.Scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{t},
		Authoritative: trigger == store.TriggerManual && !t.Deleted})
	if err != nil {
		r.add(store.UpsertResult{}, 1)
		return r.finish(ctx, fmt.Errorf("store ticket %s: %w", externalID, err))
	}
	r.add(res, 0)
	run, err := r.finish(ctx, nil)
	if s.notesEnabled() && !t.Deleted {
		_, nerr := s.syncTicketNotes(ctx, t, trigger)
		err = errors.Join(err, nerr)
	}
	return run, err
}

// tombstone returns the stored ticket marked deleted, and false when the
// store has no such ticket.
func (s *Syncer) tombstone(ctx context.Context, externalID string) (helpdesk.Ticket, bool, error) {
	t, err := s.st.Ticket(ctx, s.o.Scope, externalID)
	if errors.Is(err, store.ErrNotFound) {
		return helpdesk.Ticket{}, false, nil
	}
	if err != nil {
		return helpdesk.Ticket{}, false, fmt.Errorf("read stored ticket %s: %w", externalID, err)
	}
	if t.Deleted {
		return t, true, nil
	}
	t.Deleted = true
	t.UpdatedAt = later(s.now(), store.NormalizeTime(t.UpdatedAt).Add(time.Millisecond))
	return t, true, nil
}
