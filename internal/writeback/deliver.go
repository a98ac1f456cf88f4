package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// result is what the PSA made or changed.
type result struct {
	ticket *helpdesk.Ticket
	note   *helpdesk.Note
	entry  *helpdesk.TimeEntry
}

func (r result) id() string {
	switch {
	case r.note != nil:
		return r.note.ExternalID
	case r.entry != nil:
		return r.entry.ExternalID
	case r.ticket != nil:
		return r.ticket.ExternalID
	}
	return ""
}

func isCreate(op string) bool { return op != store.OpUpdateTicket }

// deliver makes one attempt at a claimed write and says what became of
// it. An uncertain create is looked up by its marker first.
func (e *Engine) deliver(ctx context.Context, w store.Write) store.WriteOutcome {
	var p payload
	if err := json.Unmarshal(w.Payload, &p); err != nil {
		return store.WriteOutcome{State: store.WriteFailed, Answer: "the stored write cannot be read: " + err.Error()}
	}
	if w.Uncertain && isCreate(w.Op) {
		r, found, err := e.find(ctx, w)
		switch {
		case errors.Is(err, helpdesk.ErrUnsupported):
			return store.WriteOutcome{State: store.WriteUnknown, Uncertain: true, Answer: fmt.Sprintf(
				"outcome unknown: an earlier attempt may have reached %s, whose answer was lost, and %s cannot be searched for the write's marker %s; "+
					"check ticket %s in the PSA and write again if it is missing", e.psa(), e.psa(), w.Marker, orNew(w.TicketID))}
		case err != nil:
			return e.retry(w, err, true, "looking for the write after a lost answer failed")
		case found:
			e.absorb(ctx, r)
			return store.WriteOutcome{State: store.WriteDone, ResultID: r.id(),
				Answer: e.doneAnswer(w, p, r) + " (found by its marker: an earlier attempt had reached the PSA)"}
		}
	}
	r, err := e.send(ctx, w, p)
	if err != nil {
		return e.failure(w, p, err)
	}
	e.absorb(ctx, r)
	return store.WriteOutcome{State: store.WriteDone, ResultID: r.id(), Answer: e.doneAnswer(w, p, r)}
}

// find looks for what an earlier attempt of a create may have made.
func (e *Engine) find(ctx context.Context, w store.Write) (result, bool, error) {
	pr := e.o.Provider
	switch w.Op {
	case store.OpCreateTicket:
		t, ok, err := pr.FindTicket(ctx, w.Marker, w.CreatedAt.Add(-time.Minute))
		return result{ticket: &t}, ok, err
	case store.OpAddNote:
		n, ok, err := pr.FindNote(ctx, w.TicketID, w.Marker)
		return result{note: &n}, ok, err
	case store.OpAddTime:
		te, ok, err := pr.FindTimeEntry(ctx, w.TicketID, w.Marker)
		return result{entry: &te}, ok, err
	}
	return result{}, false, nil
}

// send makes the PSA call.
func (e *Engine) send(ctx context.Context, w store.Write, p payload) (result, error) {
	pr := e.o.Provider
	memberID, name, err := e.actor(ctx, w, p)
	if err != nil {
		return result{}, err
	}
	switch {
	case w.Op == store.OpCreateTicket && p.Ticket != nil:
		t := p.Ticket
		got, err := pr.CreateTicket(ctx, helpdesk.NewTicket{Summary: t.Summary, Description: t.Description,
			CompanyID: t.CompanyID, ContactID: t.ContactID, QueueID: t.Queue.ID, StatusID: t.Status.ID,
			PriorityID: t.Priority.ID, TypeID: t.Type.ID, MemberID: memberID, Marker: w.Marker})
		return result{ticket: &got}, err
	case w.Op == store.OpUpdateTicket && p.Update != nil:
		u := p.Update
		got, err := pr.UpdateTicket(ctx, w.TicketID, helpdesk.TicketUpdate{StatusID: u.Status.ID,
			AssigneeID: u.Assignee.ID, PriorityID: u.Priority.ID, TypeID: u.Type.ID, MemberID: memberID})
		return result{ticket: &got}, err
	case w.Op == store.OpAddNote && p.Note != nil:
		got, err := pr.AddNote(ctx, w.TicketID, helpdesk.NewNote{Text: p.Note.Text, Internal: p.Note.Internal,
			MemberID: memberID, AuthorName: name, Marker: w.Marker})
		return result{note: &got}, err
	case w.Op == store.OpAddTime && p.Time != nil:
		got, err := pr.AddTimeEntry(ctx, helpdesk.NewTimeEntry{TicketID: w.TicketID, MemberID: memberID,
			Start: p.Time.Start, Hours: p.Time.Hours, Notes: p.Time.Notes, Billable: p.Time.Billable, Marker: w.Marker})
		return result{entry: &got}, err
	}
	return result{}, fmt.Errorf("write %d: op %s without its payload: %w", w.ID, w.Op, helpdesk.ErrInvalid)
}

// actor is who the write is made as: the mapped member, or for
// unmappedAuthor: apiUser the credentials' own user (its ID where the
// PSA can tell, else "" which every client reads as the API user). The
// name goes into the text where the PSA cannot attribute (Zoho Desk).
func (e *Engine) actor(ctx context.Context, w store.Write, p payload) (id, name string, err error) {
	if !p.APIUser {
		return w.MemberID, w.MemberName, nil
	}
	m, err := e.apiUserMember(ctx)
	switch {
	case errors.Is(err, helpdesk.ErrUnsupported):
		return "", w.Author, nil
	case err != nil:
		return "", "", err
	}
	return m.ExternalID, w.Author, nil
}

// absorb stores what the PSA answered at once, so that Horizon sees its
// own change without waiting for a callback or a poll. The write is
// delivered whatever happens here: a failure is only logged (the next
// sync brings the record).
func (e *Engine) absorb(ctx context.Context, r result) {
	ctx = context.WithoutCancel(ctx)
	var err error
	switch {
	case r.note != nil && r.note.ExternalID != "":
		_, err = e.o.Store.UpsertNotes(ctx, e.o.Scope, []helpdesk.Note{*r.note})
	case r.entry != nil && r.entry.ExternalID != "":
		_, err = e.o.Store.WriteBatch(ctx, e.o.Scope, store.Batch{Entity: helpdesk.EntityTimeEntries, TimeEntries: []helpdesk.TimeEntry{*r.entry}})
	case r.ticket != nil && r.ticket.ExternalID != "":
		_, err = e.o.Store.WriteBatch(ctx, e.o.Scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: []helpdesk.Ticket{*r.ticket}})
	}
	if err != nil {
		e.log.Warn("store the PSA's answer", "id", r.id(), "err", err)
	}
}

// failure turns a failed call into an outcome: rate limits, credentials
// and transient failures retry (a create's transient failure is
// uncertain: it may have been applied); a refusal is final.
func (e *Engine) failure(w store.Write, p payload, err error) store.WriteOutcome {
	switch {
	case errors.Is(err, helpdesk.ErrRateLimited), errors.Is(err, helpdesk.ErrUnauthorized):
		return e.retry(w, err, false, "")
	case errors.Is(err, helpdesk.ErrTransient), !isRefusal(err):
		return e.retry(w, err, isCreate(w.Op), "")
	}
	return store.WriteOutcome{State: store.WriteFailed, Answer: e.refusal(w, p, err)}
}

// isRefusal reports an answer from the PSA that refuses the write (a 4xx
// other than 429 and 401, or a write the client cannot make). Anything
// else (no answer, a broken connection) may have been applied.
func isRefusal(err error) bool {
	for _, k := range []error{helpdesk.ErrInvalid, helpdesk.ErrNotFound, helpdesk.ErrForbidden, helpdesk.ErrUnsupported} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// retry schedules another attempt, or gives up after maxAttempts.
func (e *Engine) retry(w store.Write, err error, uncertain bool, context string) store.WriteOutcome {
	uncertain = uncertain || w.Uncertain
	answer := err.Error()
	if context != "" {
		answer = context + ": " + answer
	}
	if w.Attempts >= e.o.Config.Writeback.MaxAttempts {
		answer = fmt.Sprintf("gave up after %d attempts; last: %s", w.Attempts, answer)
		if uncertain {
			answer += "; an attempt may have reached the PSA: check before writing again"
		}
		return store.WriteOutcome{State: store.WriteDead, Answer: answer, Uncertain: uncertain}
	}
	wait := max(e.o.Backoff(w.Attempts), helpdesk.RetryAfter(err))
	return store.WriteOutcome{State: store.WritePending, Next: e.o.Now().Add(wait), Uncertain: uncertain,
		Answer: fmt.Sprintf("attempt %d: %s; retrying in %s", w.Attempts, answer, wait.Round(time.Second))}
}

// refusal says why the PSA refused, in an admin's words.
func (e *Engine) refusal(w store.Write, p payload, err error) string {
	var b strings.Builder
	switch {
	case errors.Is(err, helpdesk.ErrUnsupported):
		fmt.Fprintf(&b, "the %s client cannot make this write: %v", e.psa(), err)
	case errors.Is(err, helpdesk.ErrNotFound) && w.TicketID != "":
		fmt.Fprintf(&b, "ticket %s does not exist in %s (deleted or merged?): %v", w.TicketID, e.psa(), err)
	case errors.Is(err, helpdesk.ErrForbidden):
		fmt.Fprintf(&b, "%s does not allow this write for %s: %v", e.psa(), actorWords(w, p), err)
	default:
		fmt.Fprintf(&b, "%s refused the write: %v", e.psa(), err)
	}
	if p.Update != nil && !p.Update.Status.IsZero() || p.Ticket != nil && !p.Ticket.Status.IsZero() {
		if valid := e.validStatuses(p); len(valid) > 0 {
			fmt.Fprintf(&b, "; valid statuses%s: %s", boardWords(p), strings.Join(valid, ", "))
		}
	}
	return b.String()
}

func (e *Engine) validStatuses(p payload) []string {
	dir, err := loadDirectory(context.Background(), e.o.Store, e.o.Scope)
	if err != nil {
		return nil
	}
	board := helpdesk.Ref{}
	if p.Ticket != nil {
		board = p.Ticket.Queue
	} else if p.Update != nil {
		board = helpdesk.Ref{Name: p.Update.Board}
	}
	return dir.validStatuses(board)
}

func boardWords(p payload) string {
	switch {
	case p.Update != nil && p.Update.Board != "":
		return " on board " + p.Update.Board
	case p.Ticket != nil && p.Ticket.Queue.Name != "":
		return " on board " + p.Ticket.Queue.Name
	}
	return ""
}

func actorWords(w store.Write, p payload) string {
	if p.APIUser {
		return "Horizon's API user"
	}
	return fmt.Sprintf("helpdesk user %s (%s)", w.MemberID, w.MemberName)
}

// doneAnswer says what the PSA made or changed.
func (e *Engine) doneAnswer(w store.Write, p payload, r result) string {
	as := ""
	if w.MemberName != "" {
		as = " as " + w.MemberName
	} else if p.APIUser {
		as = " as Horizon's API user for " + w.Author
	}
	switch w.Op {
	case store.OpCreateTicket:
		return fmt.Sprintf("ticket %s created%s", r.id(), as)
	case store.OpUpdateTicket:
		return fmt.Sprintf("ticket %s updated%s: %s", w.TicketID, as, changeWords(p.Update))
	case store.OpAddNote:
		return fmt.Sprintf("note %s added to ticket %s%s", r.id(), w.TicketID, as)
	case store.OpAddTime:
		return fmt.Sprintf("time entry %s logged on ticket %s%s: %g h", r.id(), w.TicketID, as, p.Time.Hours)
	}
	return "done"
}

func changeWords(u *updatePayload) string {
	if u == nil {
		return ""
	}
	var parts []string
	for _, c := range []struct {
		what string
		ref  helpdesk.Ref
	}{{"status", u.Status}, {"assignee", u.Assignee}, {"priority", u.Priority}, {"type", u.Type}} {
		if !c.ref.IsZero() {
			parts = append(parts, c.what+" "+or(c.ref.Name, c.ref.ID))
		}
	}
	return strings.Join(parts, ", ")
}

func (e *Engine) psa() string { return e.o.Scope.Provider }

func orNew(ticket string) string { return or(ticket, "(new)") }
