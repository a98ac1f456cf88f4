package writeback

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Limits of a request's text, so that one write cannot fill the store.
const (
	MaxTextBytes    = 64 << 10
	MaxSummaryBytes = 1000
	MaxHours        = 24
)

// Enqueue checks a request, resolves it (author, assignee, picklist
// names) and stores it in the outbox as a pending write, before anything
// is acknowledged. A repeated idempotency key returns the first write
// and created false. It refuses new writes while write-back is disabled.
func (e *Engine) Enqueue(ctx context.Context, r Request) (w store.Write, created bool, err error) {
	cfg := e.settings()
	if !cfg.WritesEnabled() {
		return w, false, ErrDisabled
	}
	wb := *cfg.Writeback
	if err := check(r); err != nil {
		return w, false, err
	}
	// A repeated request returns its first write, even when the request
	// would resolve differently now (a mapping or picklist changed).
	if first, found, err := e.byKey(ctx, r); found || err != nil {
		return first, false, err
	}
	dir, err := loadDirectory(ctx, e.o.Store, e.o.Scope)
	if err != nil {
		return w, false, err
	}
	p, member, err := e.resolve(ctx, dir, r, wb)
	if err != nil {
		return w, false, err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return w, false, fmt.Errorf("writeback: encode write: %w", err)
	}
	w = store.Write{Op: r.Op, TicketID: r.TicketID, Author: strings.TrimSpace(r.Author),
		MemberID: member.ExternalID, MemberName: member.Name, Payload: body,
		IdempotencyKey: r.IdempotencyKey, RequestHash: requestHash(r), Marker: newMarker(), CreatedAt: e.o.Now()}
	if w.IdempotencyKey == "" {
		w.IdempotencyKey = "auto-" + w.Marker
	}
	if wb.Order == config.OrderPerTicket && r.TicketID != "" {
		w.OrderKey = "ticket:" + r.TicketID
	}
	w, created, err = e.o.Store.EnqueueWrite(ctx, e.o.Scope, w)
	if err != nil {
		return w, false, fmt.Errorf("writeback: %w", err)
	}
	if created {
		e.Wake()
	}
	return w, created, nil
}

// byKey returns the write an idempotency key made before, or
// ErrIdempotencyConflict when r is not the request it made.
func (e *Engine) byKey(ctx context.Context, r Request) (store.Write, bool, error) {
	if r.IdempotencyKey == "" {
		return store.Write{}, false, nil
	}
	ws, err := e.o.Store.Writes(ctx, e.o.Scope, store.WriteFilter{IdempotencyKey: r.IdempotencyKey, Limit: 1})
	if err != nil {
		return store.Write{}, false, fmt.Errorf("writeback: %w", err)
	}
	if len(ws) == 0 {
		return store.Write{}, false, nil
	}
	if ws[0].RequestHash != requestHash(r) {
		return ws[0], true, fmt.Errorf("writeback: key %q: %w", r.IdempotencyKey, store.ErrIdempotencyConflict)
	}
	return ws[0], true, nil
}

// check validates what needs no store.
func check(r Request) error {
	if !slices.Contains(Ops, r.Op) {
		return invalid("op", "unknown write %q; one of %s", r.Op, strings.Join(Ops, ", "))
	}
	if r.Op != store.OpCreateTicket && strings.TrimSpace(r.TicketID) == "" {
		return invalid("ticket", "the ticket to write to is missing")
	}
	if len(r.IdempotencyKey) > 255 {
		return invalid("Idempotency-Key", "longer than 255 characters")
	}
	switch r.Op {
	case store.OpCreateTicket:
		if r.Create == nil {
			return invalid("summary", "a new ticket needs a summary")
		}
		if len(r.Create.Summary) > MaxSummaryBytes {
			return invalid("summary", "longer than %d bytes", MaxSummaryBytes)
		}
		if len(r.Create.Description) > MaxTextBytes {
			return invalid("description", "longer than %d bytes", MaxTextBytes)
		}
	case store.OpUpdateTicket:
		if r.Update == nil {
			return invalid("status", "nothing to change: give status, assignee, priority or type")
		}
	case store.OpAddNote:
		if r.Note == nil || strings.TrimSpace(r.Note.Text) == "" {
			return invalid("text", "a note needs text")
		}
		if len(r.Note.Text) > MaxTextBytes {
			return invalid("text", "longer than %d bytes", MaxTextBytes)
		}
	case store.OpAddTime:
		if r.Time == nil || !(r.Time.Hours > 0) || math.IsInf(r.Time.Hours, 0) {
			return invalid("hours", "time entries need hours greater than 0")
		}
		if r.Time.Hours > MaxHours {
			return invalid("hours", "%g hours is more than a day (%d)", r.Time.Hours, MaxHours)
		}
		if len(r.Time.Notes) > MaxTextBytes {
			return invalid("notes", "longer than %d bytes", MaxTextBytes)
		}
	}
	return nil
}

// resolve turns a checked request into a payload and its author's member.
func (e *Engine) resolve(ctx context.Context, dir *directory, r Request, wb config.Writeback) (*payload, memberRef, error) {
	m, apiUser, err := dir.author(r.Author, wb.UnmappedAuthor)
	if err != nil {
		return nil, memberRef{}, err
	}
	p := &payload{APIUser: apiUser}
	switch r.Op {
	case store.OpCreateTicket:
		p.Ticket, err = dir.resolveCreate(*r.Create, wb.Defaults)
	case store.OpUpdateTicket:
		var t helpdesk.Ticket
		if t, err = e.storedTicket(ctx, r.TicketID); err == nil {
			p.Update, err = dir.resolveUpdate(*r.Update, t)
		}
	case store.OpAddNote:
		n := *r.Note
		p.Note = &n
	case store.OpAddTime:
		tm := *r.Time
		if tm.Start.IsZero() {
			tm.Start = e.o.Now().UTC()
		}
		p.Time = &tm
	}
	return p, memberRef{ExternalID: m.ExternalID, Name: m.Name}, err
}

type memberRef struct{ ExternalID, Name string }

// storedTicket returns the store's copy of a ticket; ErrUnknownTicket
// when Horizon has never seen it.
func (e *Engine) storedTicket(ctx context.Context, id string) (helpdesk.Ticket, error) {
	t, err := e.o.Store.Ticket(ctx, e.o.Scope, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && t.Deleted {
		return t, fmt.Errorf("ticket %s: %w in Horizon's store (sync it with reconciler sync --ticket %s)", id, ErrUnknownTicket, id)
	}
	if err != nil {
		return t, fmt.Errorf("writeback: read ticket %s: %w", id, err)
	}
	return t, nil
}

// requestHash digests what was asked, to tell a repeated request from
// another one reusing its idempotency key.
func requestHash(r Request) string {
	r.IdempotencyKey = ""
	r.Author = strings.ToLower(strings.TrimSpace(r.Author))
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// newMarker returns a token unique to one write, short enough for every
// PSA's text fields.
func newMarker() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "hz-" + hex.EncodeToString(b[:])
}
