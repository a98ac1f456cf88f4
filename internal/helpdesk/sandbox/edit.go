package sandbox

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CreateTicket adds a ticket; ID, Created and Updated are set by the World.
func (w *World) CreateTicket(t Ticket, by Actor) Ticket {
	w.mu.Lock()
	t.ID = w.id()
	t.Created = w.Now()
	t.Updated = t.Created
	t.UpdatedBy = by.MemberID
	w.ticketIdx[t.ID] = len(w.tickets)
	w.tickets = append(w.tickets, t)
	w.mu.Unlock()
	w.emit(w.change(KindTicket, Created, t.ID, t.ID, by))
	return t
}

// UpdateTicket applies f to a ticket and stamps Updated. If f returns an
// error nothing changes.
func (w *World) UpdateTicket(id int64, by Actor, f func(*Ticket) error) (Ticket, error) {
	w.mu.Lock()
	i, ok := w.ticketIdx[id]
	if !ok || w.tickets[i].Deleted {
		w.mu.Unlock()
		return Ticket{}, fmt.Errorf("ticket %d: %w", id, ErrNoSuchRecord)
	}
	t := w.tickets[i]
	if err := f(&t); err != nil {
		w.mu.Unlock()
		return Ticket{}, err
	}
	t.ID = id
	t.Updated = w.bump(w.tickets[i].Updated)
	t.UpdatedBy = by.MemberID
	w.tickets[i] = t
	w.mu.Unlock()
	w.emit(w.change(KindTicket, Updated, id, id, by))
	return t, nil
}

// bump returns now, or a millisecond after prev when the clock has not
// moved, so that every edit advances last-updated.
func (w *World) bump(prev time.Time) time.Time {
	now := w.Now()
	if !now.After(prev) {
		return prev.Add(time.Millisecond)
	}
	return now
}

// DeleteTicket marks a ticket deleted.
func (w *World) DeleteTicket(id int64, by Actor) error {
	_, err := w.UpdateTicket(id, by, func(t *Ticket) error { t.Deleted = true; return nil })
	if err != nil {
		return err
	}
	// UpdateTicket emitted "updated"; deletions also emit "deleted".
	w.emit(w.change(KindTicket, Deleted, id, id, by))
	return nil
}

// AddNote adds a note to a live ticket and touches the ticket.
func (w *World) AddNote(n Note, by Actor) (Note, error) {
	w.mu.Lock()
	i, ok := w.ticketIdx[n.TicketID]
	if !ok || w.tickets[i].Deleted {
		w.mu.Unlock()
		return Note{}, fmt.Errorf("ticket %d: %w", n.TicketID, ErrNoSuchRecord)
	}
	n.ID = w.id()
	n.Created = w.Now()
	n.Updated = n.Created
	if n.AuthorID == 0 {
		n.AuthorID = by.MemberID
	}
	w.notes[n.TicketID] = append(w.notes[n.TicketID], n)
	w.tickets[i].Updated = w.bump(w.tickets[i].Updated)
	w.tickets[i].UpdatedBy = by.MemberID
	w.mu.Unlock()
	w.emit(w.change(KindNote, Created, n.ID, n.TicketID, by))
	return n, nil
}

// AddTimeEntry logs time on a live ticket and touches the ticket.
func (w *World) AddTimeEntry(te TimeEntry, by Actor) (TimeEntry, error) {
	w.mu.Lock()
	i, ok := w.ticketIdx[te.TicketID]
	if !ok || w.tickets[i].Deleted {
		w.mu.Unlock()
		return TimeEntry{}, fmt.Errorf("ticket %d: %w", te.TicketID, ErrNoSuchRecord)
	}
	te.ID = w.id()
	te.Created = w.Now()
	te.Updated = te.Created
	if te.MemberID == 0 {
		te.MemberID = by.MemberID
	}
	w.times[te.TicketID] = append(w.times[te.TicketID], te)
	w.timeIdx[te.ID] = te.TicketID
	// Logging time is activity on the ticket, as a note is: it moves the
	// ticket's last-updated time (Autotask lastActivityDate, Halo
	// last_update; inferred for Zoho Desk).
	w.tickets[i].Updated = w.bump(w.tickets[i].Updated)
	w.tickets[i].UpdatedBy = by.MemberID
	w.mu.Unlock()
	w.emit(w.change(KindTimeEntry, Created, te.ID, te.TicketID, by))
	return te, nil
}

// UpdateContact applies f to a contact and stamps Updated.
func (w *World) UpdateContact(id int64, by Actor, f func(*Contact)) (Contact, error) {
	w.mu.Lock()
	i, ok := slices.BinarySearchFunc(w.contacts, id, func(c Contact, id int64) int { return cmp.Compare(c.ID, id) })
	if !ok {
		w.mu.Unlock()
		return Contact{}, fmt.Errorf("contact %d: %w", id, ErrNoSuchRecord)
	}
	f(&w.contacts[i])
	w.contacts[i].ID = id
	w.contacts[i].Updated = w.bump(w.contacts[i].Updated)
	c := w.contacts[i]
	w.mu.Unlock()
	w.emit(w.change(KindContact, Updated, id, 0, by))
	return c, nil
}

// UpdateCompany applies f to a company and stamps Updated.
func (w *World) UpdateCompany(id int64, by Actor, f func(*Company)) (Company, error) {
	w.mu.Lock()
	i, ok := slices.BinarySearchFunc(w.companies, id, func(c Company, id int64) int { return cmp.Compare(c.ID, id) })
	if !ok {
		w.mu.Unlock()
		return Company{}, fmt.Errorf("company %d: %w", id, ErrNoSuchRecord)
	}
	f(&w.companies[i])
	w.companies[i].ID = id
	w.companies[i].Updated = w.bump(w.companies[i].Updated)
	c := w.companies[i]
	w.mu.Unlock()
	w.emit(w.change(KindCompany, Updated, id, 0, by))
	return c, nil
}

// AddMember adds a helpdesk user.
func (w *World) AddMember(m Member, by Actor) Member {
	w.mu.Lock()
	m.ID = w.id()
	m.Created = w.Now()
	m.Updated = m.Created
	w.members = append(w.members, m)
	w.mu.Unlock()
	w.emit(w.change(KindMember, Created, m.ID, 0, by))
	return m
}

// UpdateMember applies f to a member (deactivate, rename) and stamps
// Updated.
func (w *World) UpdateMember(id int64, by Actor, f func(*Member)) (Member, error) {
	w.mu.Lock()
	i, ok := slices.BinarySearchFunc(w.members, id, func(m Member, id int64) int { return cmp.Compare(m.ID, id) })
	if !ok {
		w.mu.Unlock()
		return Member{}, fmt.Errorf("member %d: %w", id, ErrNoSuchRecord)
	}
	f(&w.members[i])
	w.members[i].ID = id
	w.members[i].Updated = w.bump(w.members[i].Updated)
	m := w.members[i]
	w.mu.Unlock()
	w.emit(w.change(KindMember, Updated, id, 0, by))
	return m, nil
}

// AddStatus adds a status to a queue (or returns the existing one of that
// name, case-insensitively).
func (w *World) AddStatus(queueID int64, name string, closed bool, by Actor) (Status, error) {
	w.mu.Lock()
	qi := slices.IndexFunc(w.queues, func(q Queue) bool { return q.ID == queueID })
	if qi < 0 {
		w.mu.Unlock()
		return Status{}, fmt.Errorf("queue %d: %w", queueID, ErrNoSuchRecord)
	}
	q := &w.queues[qi]
	if si := slices.IndexFunc(q.Statuses, func(s Status) bool { return strings.EqualFold(s.Name, name) }); si >= 0 {
		s := q.Statuses[si]
		w.mu.Unlock()
		return s, nil
	}
	s := Status{ID: w.id(), Name: name, Closed: closed, Sort: len(q.Statuses)}
	q.Statuses = append(q.Statuses, s)
	w.mu.Unlock()
	w.emit(w.change(KindPicklist, Created, s.ID, 0, by))
	return s, nil
}

// Status looks up a status by ID in any queue.
func (w *World) Status(id int64) (Status, int64, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, q := range w.queues {
		for _, s := range q.Statuses {
			if s.ID == id {
				return s, q.ID, true
			}
		}
	}
	return Status{}, 0, false
}
