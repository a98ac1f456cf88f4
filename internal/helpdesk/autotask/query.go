package autotask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
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
	Items       []json.RawMessage `json:"items"`
	PageDetails struct {
		Count        int     `json:"count"`
		RequestCount int     `json:"requestCount"`
		PrevPageURL  *string `json:"prevPageUrl"`
		NextPageURL  *string `json:"nextPageUrl"`
	} `json:"pageDetails"`
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
// query is paged [K].
func stream[T any](c *Client, ctx context.Context, op, entity string, q queryBody,
	decode func(json.RawMessage) (T, int64, error)) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		seen := map[int64]struct{}{}
		for raw, err := range c.pages(ctx, op, entity, q) {
			if err != nil {
				yield(nil, fmt.Errorf("autotask: list %s: %w", entity, err))
				return
			}
			out, err := decodePage(raw, seen, decode)
			if err != nil {
				yield(nil, fmt.Errorf("autotask: list %s: %w", entity, wireError(op, err)))
				return
			}
			if len(out) > 0 && !yield(out, nil) {
				return
			}
		}
	}
}

func decodePage[T any](raw []json.RawMessage, seen map[int64]struct{},
	decode func(json.RawMessage) (T, int64, error)) ([]T, error) {
	out := make([]T, 0, len(raw))
	for _, item := range raw {
		v, id, err := decode(item)
		if err != nil {
			return nil, err
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, v)
	}
	return out, nil
}

// collect runs a query and returns every decoded record (small lists only:
// notes of one ticket, webhook registrations).
func collect[T any](c *Client, ctx context.Context, op, entity string, filter []condition,
	decode func(json.RawMessage) (T, int64, error)) ([]T, error) {
	var all []T
	for page, err := range stream(c, ctx, op, entity, queryBody{Filter: filter, MaxRecords: MaxPageSize}, decode) {
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
	}
	return all, nil
}
