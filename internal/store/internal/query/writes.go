package query

import (
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
)

// Writes returns the conditions of the writes f selects (outbox rows with
// an op).
func Writes(d Dialect, sc store.Scope, f store.WriteFilter) *Where {
	w := Scoped(d, sc)
	w.Add("op <> ''")
	if f.TicketID != "" {
		w.Add("ticket_id = ?", f.TicketID)
	}
	if f.IdempotencyKey != "" {
		w.Add("idem_key = ?", f.IdempotencyKey)
	}
	if f.FailedOnly {
		w.Add("state IN (?, ?, ?)", store.WriteFailed, store.WriteDead, store.WriteUnknown)
	}
	if len(f.States) > 0 {
		in := ""
		for i, s := range f.States {
			if i > 0 {
				in += ", "
			}
			in += w.Next(s)
		}
		w.conds = append(w.conds, "state IN ("+in+")")
	}
	if !f.Since.IsZero() {
		w.Add("created_at >= ?", d.Time(f.Since))
	}
	if !f.FinishedSince.IsZero() {
		w.Add("finished_at >= ?", d.Time(f.FinishedSince))
	}
	return w
}

// WriteLimit is the row limit of a write filter.
func WriteLimit(f store.WriteFilter) int { return norm.Limit(f.Limit) }

// ClaimableWrites returns the conditions of the writes due at now that
// may go out: pending and due, or in flight with an expired claim, and,
// when ordered, with no earlier live write of their key and none of their
// key in flight under a live claim. Columns are qualified with alias o.
func ClaimableWrites(d Dialect, sc store.Scope, now any) *Where {
	w := &Where{d: d}
	w.Add("o.account = ?", sc.Account)
	w.Add("o.provider = ?", sc.Provider)
	w.Add("o.op <> ''")
	w.Add("((o.state = 'pending' AND o.next_attempt <= ?) OR (o.state = 'inflight' AND o.claimed_until <= ?))", now, now)
	w.Add(`(o.order_key = '' OR NOT EXISTS (SELECT 1 FROM outbox p
  WHERE p.account = o.account AND p.provider = o.provider AND p.order_key = o.order_key AND p.id <> o.id
    AND p.state IN ('pending', 'inflight') AND (p.id < o.id OR (p.state = 'inflight' AND p.claimed_until > ?))))`, now)
	return w
}
