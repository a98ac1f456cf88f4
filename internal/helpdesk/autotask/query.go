package autotask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/listing"
)

// condition is one query filter item [D][K]: {"op","field","value"}, or
// a group {"op":"and"|"or","items":[...]}.
type condition struct {
	Op    string      `json:"op"`
	Field string      `json:"field,omitempty"`
	Value any         `json:"value,omitempty"`
	Items []condition `json:"items,omitempty"`
}

// queryBody is the body of POST /{Entity}/query [D][K].
type queryBody struct {
	Filter     []condition `json:"filter"`
	MaxRecords int         `json:"MaxRecords"`
}

// queryPage is a query answer [K]. nextPageUrl is opaque: the client only
// follows it.
type queryPage struct {
	Items       []json.RawMessage
	PageDetails pageDetails
}

// pageWire is a query answer as sent; items is a pointer to tell a
// missing or null list from an empty one.
type pageWire struct {
	Items       *[]json.RawMessage `json:"items"`
	PageDetails pageDetails        `json:"pageDetails"`
}

// decodeBody reads a query answer, refusing one that holds no list (an
// empty body, null, HTML, an object without items): the transport retries
// it, and it is never taken for the last page.
func (p *queryPage) decodeBody(b []byte) error {
	if err := listing.Expect(b, '{'); err != nil {
		return err
	}
	var w pageWire
	if err := json.Unmarshal(b, &w); err != nil {
		return &listing.NotAListError{What: "JSON that does not parse", Err: err}
	}
	if w.Items == nil {
		return &listing.NotAListError{What: `an object without an "items" list`}
	}
	p.Items, p.PageDetails = *w.Items, w.PageDetails
	return nil
}

type pageDetails struct {
	Count        int     `json:"count"`
	RequestCount int     `json:"requestCount"`
	PrevPageURL  *string `json:"prevPageUrl"`
	NextPageURL  *string `json:"nextPageUrl"`
}

// matchAll is the usual "every record" filter: a query needs at least one
// condition [K].
func matchAll() []condition { return []condition{{Op: "exist", Field: "id"}} }

// eq is an equality condition on an integer field.
func eq(field string, v int64) condition { return condition{Op: "eq", Field: field, Value: v} }

// since filters on field > t, or matches everything when t is zero or
// field is empty (Resources have no last-updated field [K]).
func since(field string, t time.Time) []condition {
	if field == "" || t.IsZero() {
		return matchAll()
	}
	return []condition{{Op: "gt", Field: field, Value: formatTime(t)}}
}

// after adds id gt q.After to filter, so that a listing resumes after
// that record (helpdesk.Query.After): query results come in ascending id
// order [I], as the emulator serves them.
func after(filter []condition, q helpdesk.Query) ([]condition, error) {
	if q.After == "" {
		return filter, nil
	}
	n, err := strconv.ParseInt(q.After, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("resume after %q: not a record id: %w", q.After, helpdesk.ErrInvalid)
	}
	return append(filter, condition{Op: "gt", Field: "id", Value: n}), nil
}

// listQuery is the query of a record listing: filter, narrowed to the
// records after q.After, in pages of q.PageSize.
func listQuery(filter []condition, q helpdesk.Query) (queryBody, error) {
	f, err := after(filter, q)
	return queryBody{Filter: f, MaxRecords: pageSize(q.PageSize)}, err
}

// failed is a stream that yields err.
func failed[T any](entity string, err error) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) { yield(nil, fmt.Errorf("autotask: list %s: %w", entity, err)) }
}

// pageSize clamps a requested page size to 1..MaxPageSize.
func pageSize(n int) int {
	if n <= 0 || n > MaxPageSize {
		return MaxPageSize
	}
	return n
}

// pages runs a query and yields each page's raw items, following
// nextPageUrl until it is null or a page comes back empty. Next pages are
// fetched with GET and no body; a server answering 405 gets the original
// body POSTed instead (clients do both [K]).
func (c *Client) pages(ctx context.Context, op, entity string, q queryBody) iter.Seq2[[]json.RawMessage, error] {
	return func(yield func([]json.RawMessage, error) bool) {
		r := request{op: op, method: http.MethodPost, path: entity + "/query", body: q}
		for {
			page, err := c.fetchPage(ctx, r, q)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page.Items) > 0 && !yield(page.Items, nil) {
				return
			}
			next := page.PageDetails.NextPageURL
			if len(page.Items) == 0 || next == nil || *next == "" {
				return
			}
			if *next == r.path {
				yield(nil, wireError(op, errors.New("nextPageUrl repeats the page just read")))
				return
			}
			r = request{op: op, method: http.MethodGet, path: *next}
		}
	}
}

// fetchPage reads one page; a 405 on a GET of a next-page URL is retried
// as a POST carrying the original query.
func (c *Client) fetchPage(ctx context.Context, r request, q queryBody) (queryPage, error) {
	var page queryPage
	err := c.call(ctx, r, &page)
	var he *helpdesk.Error
	if r.method == http.MethodGet && errors.As(err, &he) && he.Status == http.StatusMethodNotAllowed {
		page = queryPage{}
		err = c.call(ctx, request{op: r.op, method: http.MethodPost, path: r.path, body: q}, &page)
	}
	return page, err
}

// stream runs a query and yields decoded pages. A record seen on an
// earlier page is dropped: timestamps repeat and records move while the
// query is paged [K]. A record that does not decode, or has a field over
// Config.MaxFieldBytes, is left out and reported to skip (nil: silently).
func stream[T any](c *Client, ctx context.Context, op, entity string, q queryBody,
	decode func(json.RawMessage) (T, int64, error), skip func(helpdesk.Skipped)) iter.Seq2[[]T, error] {
	conv := func(raw json.RawMessage) (keyed[T], error) {
		v, id, err := decode(raw)
		return keyed[T]{v, id}, err
	}
	return func(yield func([]T, error) bool) {
		seen := map[int64]struct{}{}
		var top int64 // the highest id of the pages before this one
		warned := false
		for raw, err := range c.pages(ctx, op, entity, q) {
			if err != nil {
				yield(nil, fmt.Errorf("autotask: list %s: %w", entity, err))
				return
			}
			recs := listing.Records(raw, domainEntity(entity), c.cfg.MaxFieldBytes, conv, skip)
			out := make([]T, 0, len(recs))
			pageTop := top
			for _, r := range recs {
				if _, dup := seen[r.id]; dup {
					continue
				}
				seen[r.id] = struct{}{}
				out = append(out, r.v)
				if r.id < top && !warned {
					// Resumable relies on id order [I]: say so when it fails.
					warned = true
					c.log.WarnContext(ctx, "autotask: a query answered records out of id order; a resumed backfill may miss records",
						"entity", entity, "id", r.id, "after", top)
				}
				pageTop = max(pageTop, r.id)
			}
			top = pageTop
			if len(out) > 0 && !yield(out, nil) {
				return
			}
		}
	}
}

// keyed is a decoded record and its id.
type keyed[T any] struct {
	v  T
	id int64
}

// domainEntity names an Autotask entity in Horizon's terms, for reports
// of skipped records.
func domainEntity(entity string) helpdesk.Entity {
	switch entity {
	case "Tickets":
		return helpdesk.EntityTickets
	case "Contacts":
		return helpdesk.EntityContacts
	case "Companies":
		return helpdesk.EntityCompanies
	case "TimeEntries":
		return helpdesk.EntityTimeEntries
	case "TicketNotes":
		return helpdesk.EntityNotes
	case "Resources":
		return helpdesk.EntityMembers
	}
	return helpdesk.Entity(entity)
}

// collect runs a query and returns every decoded record (small lists only:
// notes of one ticket, webhook registrations). Unlike a stream, a record
// that does not decode fails it: callers act on the whole list.
func collect[T any](c *Client, ctx context.Context, op, entity string, filter []condition,
	decode func(json.RawMessage) (T, int64, error)) ([]T, error) {
	var all []T
	var bad *helpdesk.Skipped
	strict := func(s helpdesk.Skipped) {
		if bad == nil {
			bad = &s
		}
	}
	for page, err := range stream(c, ctx, op, entity, queryBody{Filter: filter, MaxRecords: MaxPageSize}, decode, strict) {
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
	}
	if bad != nil {
		return nil, fmt.Errorf("autotask: list %s: %w", entity, wireError(op, fmt.Errorf("record %s: %s", bad.ID, bad.Reason)))
	}
	return all, nil
}
