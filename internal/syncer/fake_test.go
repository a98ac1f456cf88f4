package syncer

import (
	"cmp"
	"context"
	"errors"
	"iter"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// fakePSA is an in-memory Provider: keyset paging by numeric ID over live
// data (edits during a stream show up as in a real PSA), query recording
// and error injection. Methods the syncer does not call panic.
type fakePSA struct {
	helpdesk.Provider

	mu          sync.Mutex
	name        string
	caps        helpdesk.Capabilities
	pageSize    int
	ignoreUntil bool
	tickets     map[string]helpdesk.Ticket
	contacts    map[string]helpdesk.Contact
	companies   map[string]helpdesk.Company
	timeEntries map[string]helpdesk.TimeEntry
	members     map[string]helpdesk.Member
	picklists   []helpdesk.Picklist
	queries     map[helpdesk.Entity][]helpdesk.Query
	// fail makes a stream of the entity yield err after n pages.
	fail map[helpdesk.Entity]failure
	// extra pages appended to the ticket stream (out-of-order versions).
	extra   [][]helpdesk.Ticket
	getErr  error
	pickErr error
	gets    int
	// onPage, when set, runs before each page of a stream is read (a
	// slow PSA whose data changes under a long run); n counts from 0.
	onPage func(e helpdesk.Entity, n int)
	// skips are reported through Query.Skip with the first page.
	skips map[helpdesk.Entity][]helpdesk.Skipped
	// pages counts the pages served per entity.
	pages map[helpdesk.Entity]int
	// psaTime, when set, is the PSA's clock (PSATime).
	psaTime func() time.Time
	// order caches each record map's IDs in numeric order.
	order map[any][]string
}

type failure struct {
	afterPages int
	err        error
}

func newFakePSA() *fakePSA {
	return &fakePSA{
		name: helpdesk.ConnectWise,
		caps: helpdesk.Capabilities{
			Entities: []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
				helpdesk.EntityTimeEntries, helpdesk.EntityMembers, helpdesk.EntityPicklists},
			IncrementalMembers: true, MaxPageSize: 1000,
		},
		pageSize: 50, tickets: map[string]helpdesk.Ticket{}, contacts: map[string]helpdesk.Contact{},
		companies: map[string]helpdesk.Company{}, timeEntries: map[string]helpdesk.TimeEntry{},
		members: map[string]helpdesk.Member{}, queries: map[helpdesk.Entity][]helpdesk.Query{},
		fail: map[helpdesk.Entity]failure{}, order: map[any][]string{}, pages: map[helpdesk.Entity]int{},
	}
}

func (f *fakePSA) Name() string                        { return f.name }
func (f *fakePSA) Capabilities() helpdesk.Capabilities { return f.caps }

func (f *fakePSA) Tickets(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Ticket, error] {
	seq := stream(ctx, f, helpdesk.EntityTickets, &f.tickets, q)
	return func(yield func([]helpdesk.Ticket, error) bool) {
		for p, err := range seq {
			if !yield(p, err) || err != nil {
				return
			}
		}
		f.mu.Lock()
		extra := slices.Clone(f.extra)
		f.mu.Unlock()
		for _, p := range extra {
			if !yield(slices.Clone(p), nil) {
				return
			}
		}
	}
}

func (f *fakePSA) Contacts(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Contact, error] {
	return stream(ctx, f, helpdesk.EntityContacts, &f.contacts, q)
}

func (f *fakePSA) Companies(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Company, error] {
	return stream(ctx, f, helpdesk.EntityCompanies, &f.companies, q)
}

func (f *fakePSA) TimeEntries(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.TimeEntry, error] {
	return stream(ctx, f, helpdesk.EntityTimeEntries, &f.timeEntries, q)
}

func (f *fakePSA) Members(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Member, error] {
	return stream(ctx, f, helpdesk.EntityMembers, &f.members, q)
}

func (f *fakePSA) GetTicket(ctx context.Context, id string) (helpdesk.Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.getErr != nil {
		return helpdesk.Ticket{}, f.getErr
	}
	t, ok := f.tickets[id]
	if !ok {
		return helpdesk.Ticket{}, &helpdesk.Error{Provider: f.name, Op: "get ticket", Kind: helpdesk.ErrNotFound, Status: 404}
	}
	return t, nil
}

func (f *fakePSA) Picklists(ctx context.Context) ([]helpdesk.Picklist, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.picklists), f.pickErr
}

// resumablePSA is a fakePSA that resumes listings after an ID (its
// paging is keyset by ascending numeric ID).
type resumablePSA struct{ *fakePSA }

func (resumablePSA) Resumable(helpdesk.Entity) bool { return true }

// served returns the pages served for e so far.
func (f *fakePSA) served(e helpdesk.Entity) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pages[e]
}

// clockPSA is a fakePSA that tells its clock.
type clockPSA struct{ *fakePSA }

func (c clockPSA) PSATime(context.Context) (time.Time, error) { return c.psaTime(), nil }

// recorded returns the queries streamed for e.
func (f *fakePSA) recorded(e helpdesk.Entity) []helpdesk.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries[e])
}

// put stores records in the fake PSA.
func put[T any](f *fakePSA, m *map[string]T, recs ...T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range recs {
		id, _ := metaOf(r)
		(*m)[id] = r
	}
	delete(f.order, m)
}

func metaOf(r any) (string, time.Time) {
	switch r := r.(type) {
	case helpdesk.Ticket:
		return r.ExternalID, r.UpdatedAt
	case helpdesk.Contact:
		return r.ExternalID, r.UpdatedAt
	case helpdesk.Company:
		return r.ExternalID, r.UpdatedAt
	case helpdesk.TimeEntry:
		return r.ExternalID, r.UpdatedAt
	case helpdesk.Member:
		return r.ExternalID, r.UpdatedAt
	}
	panic("unknown record type")
}

func idNum(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

// stream pages through *m by ascending numeric ID, reading live data at
// every page, as a PSA's keyset paging does.
func stream[T any](ctx context.Context, f *fakePSA, e helpdesk.Entity, m *map[string]T, q helpdesk.Query) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		f.mu.Lock()
		f.queries[e] = append(f.queries[e], q)
		fail, size, onPage, skips := f.fail[e], f.pageSize, f.onPage, f.skips[e]
		f.mu.Unlock()
		if q.PageSize > 0 && q.PageSize < size {
			size = q.PageSize
		}
		after := idNum(q.After)
		for n := 0; ; n++ {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			if fail.err != nil && n == fail.afterPages {
				yield(nil, fail.err)
				return
			}
			if onPage != nil {
				onPage(e, n)
			}
			if n == 0 && q.Skip != nil {
				for _, sk := range skips {
					q.Skip(sk)
				}
			}
			page := pageOf(f, m, q, after, size)
			f.mu.Lock()
			f.pages[e]++
			f.mu.Unlock()
			if len(page) > 0 {
				id, _ := metaOf(page[len(page)-1])
				after = idNum(id)
			}
			if !yield(page, nil) || len(page) < size {
				return
			}
		}
	}
}

// pageOf returns up to size records of m with an ID above after matching q.
func pageOf[T any](f *fakePSA, mp *map[string]T, q helpdesk.Query, after int64, size int) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := *mp
	ids, ok := f.order[mp]
	if !ok {
		ids = slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Compare(idNum(a), idNum(b)) })
		f.order[mp] = ids
	}
	start, _ := slices.BinarySearchFunc(ids, after+1, func(id string, n int64) int { return cmp.Compare(idNum(id), n) })
	var out []T
	for _, id := range ids[start:] {
		r, ok := m[id]
		if !ok {
			continue
		}
		_, at := metaOf(r)
		if idNum(id) <= after || !q.Since.IsZero() && !at.After(q.Since) ||
			!f.ignoreUntil && !q.Until.IsZero() && at.After(q.Until) {
			continue
		}
		out = append(out, r)
		if len(out) == size {
			break
		}
	}
	return out
}

// memStore is an in-memory store.Store with the semantics the syncer
// relies on: upserts that never go backwards, the watermark in the same
// "transaction" as the rows, and the sync run log. Hooks simulate crashes.
type memStore struct {
	store.Store

	mu         sync.Mutex
	rows       map[helpdesk.Entity]map[string]any
	watermarks map[helpdesk.Entity]store.Watermark
	runs       []store.SyncRun
	picklists  []helpdesk.Picklist
	writes     int
	// recorded counts RecordSyncRun's runs; recordErr, when set, is its
	// error.
	recorded  int
	recordErr error
	// before runs before a batch is applied; an error aborts it (the
	// transaction never committed).
	before func(n int, b store.Batch) error
	// after runs after a batch is applied (committed).
	after func(n int, b store.Batch)
}

func newMemStore() *memStore {
	return &memStore{rows: map[helpdesk.Entity]map[string]any{}, watermarks: map[helpdesk.Entity]store.Watermark{}}
}

func (m *memStore) Backend() string { return "memory" }

func (m *memStore) WriteBatch(ctx context.Context, s store.Scope, b store.Batch) (store.UpsertResult, error) {
	if err := ctx.Err(); err != nil {
		return store.UpsertResult{}, err
	}
	m.mu.Lock()
	m.writes++
	n, before, after := m.writes, m.before, m.after
	m.mu.Unlock()
	if before != nil {
		if err := before(n, b); err != nil {
			return store.UpsertResult{}, err
		}
	}
	m.mu.Lock()
	res := m.apply(b)
	m.mu.Unlock()
	if after != nil {
		after(n, b)
	}
	return res, nil
}

func (m *memStore) apply(b store.Batch) store.UpsertResult {
	var recs []any
	switch b.Entity {
	case helpdesk.EntityTickets:
		recs = anys(b.Tickets)
	case helpdesk.EntityContacts:
		recs = anys(b.Contacts)
	case helpdesk.EntityCompanies:
		recs = anys(b.Companies)
	case helpdesk.EntityTimeEntries:
		recs = anys(b.TimeEntries)
	case helpdesk.EntityMembers:
		recs = anys(b.Members)
	}
	rows := m.rows[b.Entity]
	if rows == nil {
		rows = map[string]any{}
		m.rows[b.Entity] = rows
	}
	var res store.UpsertResult
	for _, r := range recs {
		id, at := metaOf(r)
		old, ok := rows[id]
		switch {
		case !ok:
			res.Created++
		default:
			_, oldAt := metaOf(old)
			if reflect.DeepEqual(old, r) || !b.Authoritative && oldAt.After(at) {
				res.Unchanged++
				continue
			}
			res.Updated++
		}
		rows[id] = r
	}
	if b.Watermark != nil {
		m.watermarks[b.Entity] = *b.Watermark
	}
	return res
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}

func (m *memStore) Watermark(ctx context.Context, s store.Scope, e helpdesk.Entity) (store.Watermark, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.watermarks[e], nil
}

func (m *memStore) SetWatermark(ctx context.Context, s store.Scope, e helpdesk.Entity, w store.Watermark) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.watermarks[e] = w
	return nil
}

func (m *memStore) Ticket(ctx context.Context, s store.Scope, id string) (helpdesk.Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[helpdesk.EntityTickets][id]
	if !ok {
		return helpdesk.Ticket{}, store.ErrNotFound
	}
	return r.(helpdesk.Ticket), nil
}

func (m *memStore) Count(ctx context.Context, s store.Scope, e helpdesk.Entity) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows[e]), nil
}

// snapshot returns a copy of the stored records of e.
func (m *memStore) snapshot(e helpdesk.Entity) map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.rows[e])
}

func (m *memStore) ReplacePicklists(ctx context.Context, s store.Scope, p []helpdesk.Picklist, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.picklists = slices.Clone(p)
	return nil
}

func (m *memStore) Picklists(ctx context.Context, s store.Scope) ([]helpdesk.Picklist, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.picklists), time.Time{}, nil
}

func (m *memStore) StartSyncRun(ctx context.Context, s store.Scope, r store.SyncRun) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.ID = int64(len(m.runs) + 1)
	m.runs = append(m.runs, r)
	return r.ID, nil
}

func (m *memStore) RecordSyncRun(ctx context.Context, s store.Scope, r store.SyncRun) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recordErr != nil {
		return 0, m.recordErr
	}
	r.ID = int64(len(m.runs) + 1)
	m.runs = append(m.runs, r)
	m.recorded++
	return r.ID, nil
}

func (m *memStore) FinishSyncRun(ctx context.Context, s store.Scope, r store.SyncRun) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.ID < 1 || int(r.ID) > len(m.runs) {
		return errors.New("no such run")
	}
	m.runs[r.ID-1] = r
	return nil
}

func (m *memStore) SyncRuns(ctx context.Context, s store.Scope, f store.SyncRunFilter) ([]store.SyncRun, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.runs)
	slices.Reverse(out)
	return out, nil
}

// allRuns returns the run log oldest first.
func (m *memStore) allRuns() []store.SyncRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.runs)
}

func (m *memStore) UpdateSyncRun(ctx context.Context, s store.Scope, r store.SyncRun) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.ID < 1 || int(r.ID) > len(m.runs) {
		return errors.New("no such run")
	}
	m.runs[r.ID-1] = r
	return nil
}

func (m *memStore) InterruptSyncRuns(ctx context.Context, s store.Scope, e helpdesk.Entity, before, at time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for i, r := range m.runs {
		if r.Entity == e && r.TicketID == "" && r.FinishedAt.IsZero() && r.StartedAt.Before(before) {
			m.runs[i].FinishedAt, m.runs[i].Outcome = at, store.RunInterrupted
			n++
		}
	}
	return n, nil
}
