package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Activity is one edit the simulated helpdesk staff made.
type Activity struct {
	What     string // human description
	TicketID int64
}

// Simulate makes random edits "in the PSA UI" every interval, as busy
// helpdesk staff would: status changes, reassignments, notes, new tickets.
// Each edit is reported to report (may be nil). It returns when ctx ends.
func (w *World) Simulate(ctx context.Context, interval time.Duration, seed int64, report func(Activity)) {
	r := rand.New(rand.NewPCG(uint64(seed), 99))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if a, ok := w.randomEdit(r); ok && report != nil {
				report(a)
			}
		}
	}
}

func (w *World) randomEdit(r *rand.Rand) (Activity, bool) {
	humans := w.activeHumans()
	open, _ := w.QueryTickets(TicketQuery{Filter: func(t *Ticket) bool { return !w.closed(t.StatusID) }, Limit: 200,
		Compare: func(a, b *Ticket) int { return b.Updated.Compare(a.Updated) }})
	if len(humans) == 0 || len(open) == 0 {
		return Activity{}, false
	}
	by := humans[r.IntN(len(humans))]
	t := open[r.IntN(len(open))]
	switch r.IntN(4) {
	case 0:
		return w.simStatus(r, t, by)
	case 1:
		to := humans[r.IntN(len(humans))]
		_, err := w.UpdateTicket(t.ID, UI(by.ID), func(t *Ticket) error { t.AssigneeID = to.ID; return nil })
		return Activity{fmt.Sprintf("%s assigned ticket %d to %s", by.FirstName, t.ID, to.FirstName), t.ID}, err == nil
	case 2:
		_, err := w.AddNote(Note{TicketID: t.ID, Text: "Called the user back; still investigating.", Internal: true}, UI(by.ID))
		return Activity{fmt.Sprintf("%s added a note to ticket %d", by.FirstName, t.ID), t.ID}, err == nil
	default:
		nt := t
		nt.Summary = "New: " + problems[r.IntN(len(problems))]
		nt.AssigneeID = 0
		created := w.CreateTicket(nt, UI(by.ID))
		return Activity{fmt.Sprintf("%s opened ticket %d %q", by.FirstName, created.ID, created.Summary), created.ID}, true
	}
}

func (w *World) simStatus(r *rand.Rand, t Ticket, by Member) (Activity, bool) {
	var q Queue
	for _, x := range w.Queues() {
		if x.ID == t.QueueID {
			q = x
		}
	}
	if len(q.Statuses) == 0 {
		return Activity{}, false
	}
	s := q.Statuses[r.IntN(len(q.Statuses))]
	_, err := w.UpdateTicket(t.ID, UI(by.ID), func(t *Ticket) error { t.StatusID = s.ID; return nil })
	return Activity{fmt.Sprintf("%s set ticket %d to %q", by.FirstName, t.ID, s.Name), t.ID}, err == nil
}

func (w *World) activeHumans() []Member {
	var out []Member
	for _, m := range w.Members() {
		if m.Active && !m.APIUser {
			out = append(out, m)
		}
	}
	return out
}

// closed reports whether a status closes tickets. It runs inside a
// QueryTickets filter, with w.mu held for reading.
func (w *World) closed(statusID int64) bool {
	for _, q := range w.queues {
		for _, s := range q.Statuses {
			if s.ID == statusID {
				return s.Closed
			}
		}
	}
	return false
}
