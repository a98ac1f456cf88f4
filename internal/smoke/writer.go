package smoke

import (
	"context"
	"errors"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/writeback"
)

// AccountWriter returns the writer of the account's Horizon-side writes:
// each is enqueued in the write-back outbox, exactly as a request from the
// Horizon application, and awaited. deliver is true when the caller holds
// the account's lease and so delivers the writes itself (no daemon runs);
// otherwise the daemon's write-back worker delivers them.
func AccountWriter(a *account.Account, deliver bool) Writer {
	return &engineWriter{e: a.Writeback, deliver: deliver}
}

type engineWriter struct {
	e       *writeback.Engine
	deliver bool
}

func (w *engineWriter) Write(ctx context.Context, r Write) (Written, error) {
	req := writeback.Request{TicketID: r.TicketID, Author: r.Author}
	switch r.Op {
	case OpStatus:
		req.Op, req.Update = store.OpUpdateTicket, &writeback.UpdateTicket{Status: r.Status}
	case OpAssign:
		req.Op, req.Update = store.OpUpdateTicket, &writeback.UpdateTicket{Assignee: r.Assignee}
	case OpNote:
		req.Op, req.Note = store.OpAddNote, &writeback.AddNote{Text: r.Text, Internal: true}
	case OpTime:
		req.Op, req.Time = store.OpAddTime, &writeback.AddTime{Hours: r.Hours, Notes: r.Text}
	default:
		return Written{}, errors.New("smoke: unknown write " + r.Op)
	}
	sw, _, err := w.e.Enqueue(ctx, req)
	if err != nil {
		return Written{}, err
	}
	if !writeback.Final(sw.State) {
		if w.deliver {
			sw, err = w.e.RunUntil(ctx, sw.ID)
		} else {
			sw, err = w.e.Await(ctx, sw.ID)
		}
	}
	out := Written{ID: sw.ID, State: sw.State, Answer: sw.Answer, ResultID: sw.ResultID, Marker: sw.Marker,
		MemberID: sw.MemberID, MemberName: sw.MemberName}
	if err != nil && ctx.Err() != nil {
		return out, nil // still live: the step says no answer came in time
	}
	return out, err
}
