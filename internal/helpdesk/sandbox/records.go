package sandbox

import (
	"cmp"
	"slices"
	"sort"
)

// Actor says who makes an edit.
type Actor struct {
	MemberID int64
	ViaAPI   bool
	Source   string // source tag the API call carried, if any
}

// UI is an edit made by a member in the PSA's own UI.
func UI(memberID int64) Actor { return Actor{MemberID: memberID} }

// API is an edit made through the PSA's API by memberID (the API user),
// tagged with source where the PSA supports tagging.
func API(memberID int64, source string) Actor {
	return Actor{MemberID: memberID, ViaAPI: true, Source: source}
}

func (w *World) change(kind, action string, id, ticketID int64, by Actor) Change {
	return Change{Kind: kind, Action: action, ID: id, TicketID: ticketID, Actor: by.MemberID,
		ViaAPI: by.ViaAPI, Source: by.Source, At: w.Now()}
}

// Companies returns every company, by ID.
func (w *World) Companies() []Company {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.companies)
}

// Contacts returns every contact, by ID.
func (w *World) Contacts() []Contact {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.contacts)
}

// Members returns every member, by ID.
func (w *World) Members() []Member {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.members)
}

// APIUser returns the integration's API member.
func (w *World) APIUser() Member {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, m := range w.members {
		if m.APIUser {
			return m
		}
	}
	return Member{}
}

// Queues returns every queue with its statuses and types.
func (w *World) Queues() []Queue {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]Queue, len(w.queues))
	for i, q := range w.queues {
		q.Statuses = slices.Clone(q.Statuses)
		q.Types = slices.Clone(q.Types)
		out[i] = q
	}
	return out
}

// Priorities returns the global priorities.
func (w *World) Priorities() []Value {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.priorities)
}

// Ticket returns one ticket (deleted ones included, with Deleted set).
func (w *World) Ticket(id int64) (Ticket, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	i, ok := w.ticketIdx[id]
	if !ok {
		return Ticket{}, false
	}
	return w.tickets[i], true
}

// TicketQuery selects tickets. Deleted tickets are never returned.
type TicketQuery struct {
	// Filter keeps a ticket when it returns true; nil keeps all.
	Filter func(*Ticket) bool
	// AfterID keeps tickets with a larger ID (keyset paging).
	AfterID int64
	// Compare orders the result; nil orders by ID ascending.
	Compare func(a, b *Ticket) int
	Offset  int
	Limit   int // 0: no limit
}

// QueryTickets returns one page of matching tickets and the total number
// of matches.
func (w *World) QueryTickets(q TicketQuery) ([]Ticket, int) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	start := sort.Search(len(w.tickets), func(i int) bool { return w.tickets[i].ID > q.AfterID })
	var match []*Ticket
	for i := start; i < len(w.tickets); i++ {
		t := &w.tickets[i]
		if !t.Deleted && (q.Filter == nil || q.Filter(t)) {
			match = append(match, t)
		}
	}
	if q.Compare != nil {
		slices.SortStableFunc(match, q.Compare)
	}
	total := len(match)
	match = window(match, q.Offset, q.Limit)
	out := make([]Ticket, len(match))
	for i, t := range match {
		out[i] = *t
	}
	return out, total
}

// Window returns items[offset:offset+limit], clamped; limit 0 means all.
func Window[T any](items []T, offset, limit int) []T { return window(items, offset, limit) }

func window[T any](items []T, offset, limit int) []T {
	if offset >= len(items) {
		return nil
	}
	items = items[offset:]
	if limit > 0 && limit < len(items) {
		items = items[:limit]
	}
	return items
}

// Notes returns a ticket's notes, by ID.
func (w *World) Notes(ticketID int64) []Note {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.notes[ticketID])
}

// TimeEntries returns a ticket's time entries, by ID.
func (w *World) TimeEntries(ticketID int64) []TimeEntry {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return slices.Clone(w.times[ticketID])
}

// TimeEntry returns one time entry.
func (w *World) TimeEntry(id int64) (TimeEntry, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, te := range w.times[w.timeIdx[id]] {
		if te.ID == id {
			return te, true
		}
	}
	return TimeEntry{}, false
}

// AllTimeEntries returns matching time entries of live tickets ordered by
// ID, one page, and the total number of matches.
func (w *World) AllTimeEntries(filter func(*TimeEntry) bool, afterID int64, offset, limit int) ([]TimeEntry, int) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var match []TimeEntry
	for _, t := range w.tickets {
		if t.Deleted {
			continue
		}
		for _, te := range w.times[t.ID] {
			if te.ID > afterID && (filter == nil || filter(&te)) {
				match = append(match, te)
			}
		}
	}
	slices.SortFunc(match, func(a, b TimeEntry) int { return cmp.Compare(a.ID, b.ID) })
	return slices.Clone(window(match, offset, limit)), len(match)
}
