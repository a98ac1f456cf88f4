package zohodesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// epochFloor is the lower bound of a search window when the caller wants
// everything (the OAS range pattern accepts years 19xx and 20xx).
var epochFloor = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// clampPage returns the page size to ask for: q's, capped at max.
func clampPage(want, max int) int {
	if want <= 0 || want > max {
		return max
	}
	return want
}

// window is a search over one modifiedTimeRange, walked newest first.
//
// Paging is by seek, not by growing offsets: after each full page the
// window's upper bound moves down to the oldest modifiedTime seen and
// `from` restarts at 0, and ids already yielded at that boundary time are
// skipped. `from` only grows while a whole page shares one modifiedTime.
// This keeps `from` far below Zoho's 4999 ceiling however many records
// match, and a record modified during the walk leaves the window instead
// of shifting unread records under an offset (the classic skip of offset
// paging). Paging ends on an empty (204) or short page, never on "count".
type window struct {
	c     *Client
	op    string
	path  string
	since time.Time
	lower time.Time
	upper time.Time
	limit int
	from  int
	seen  map[string]bool
	extra url.Values
}

func (c *Client) newWindow(op, path string, since time.Time, limit int) *window {
	lower := epochFloor
	if !since.IsZero() {
		// strictly after since, at the wire's millisecond precision
		lower = since.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
	}
	return &window{c: c, op: op, path: path, since: since, lower: lower,
		upper: c.cfg.Now().UTC().Add(24 * time.Hour).Truncate(time.Millisecond),
		limit: limit, seen: map[string]bool{}}
}

// pages walks the window, yielding the raw records of each page that are
// new and modified after since.
func (w *window) pages(ctx context.Context) iter.Seq2[[]json.RawMessage, error] {
	return func(yield func([]json.RawMessage, error) bool) {
		for {
			items, err := w.fetch(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			fresh := w.advance(items)
			if len(fresh) > 0 && !yield(fresh, nil) {
				return
			}
			if len(items) < w.limit {
				return
			}
			if w.from > maxFrom {
				yield(nil, fmt.Errorf("zohodesk: %s: more than %d records share modifiedTime %s", w.op, maxFrom, formatTime(w.upper)))
				return
			}
		}
	}
}

func (w *window) fetch(ctx context.Context) ([]json.RawMessage, error) {
	q := url.Values{}
	for k, v := range w.extra {
		q[k] = v
	}
	q.Set("modifiedTimeRange", formatTime(w.lower)+","+formatTime(w.upper))
	q.Set("sortBy", "-modifiedTime")
	q.Set("from", strconv.Itoa(w.from))
	q.Set("limit", strconv.Itoa(w.limit))
	return w.c.list(ctx, request{op: w.op, method: http.MethodGet, path: w.path, query: q})
}

// advance filters a page to new records and moves the window.
func (w *window) advance(items []json.RawMessage) []json.RawMessage {
	fresh := make([]json.RawMessage, 0, len(items))
	oldest := time.Time{}
	heads := make([]recordHead, len(items))
	for i, raw := range items {
		_ = json.Unmarshal(raw, &heads[i])
		h := heads[i]
		if w.seen[string(h.ID)] {
			continue
		}
		if !h.ModifiedTime.IsZero() && !h.ModifiedTime.After(w.since) {
			continue
		}
		fresh = append(fresh, raw)
		if t := h.ModifiedTime.Time; !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	if !oldest.IsZero() && oldest.Before(w.upper) {
		w.upper, w.from = oldest, 0
		w.seen = map[string]bool{}
	} else {
		w.from += len(items)
	}
	for _, h := range heads {
		if h.ModifiedTime.Equal(w.upper) || w.from > 0 {
			w.seen[string(h.ID)] = true
		}
	}
	return fresh
}

// listPages walks a plain list endpoint with from/limit, yielding pages of
// raw records. It starts at from=0 and steps by limit; records are
// de-duplicated by id, so a 1-based reading of from (the OAS says list
// endpoints default to from=1) costs one repeated record per page and
// loses none. Paging ends on an empty (204) or short page.
func (c *Client) listPages(ctx context.Context, op, path string, q url.Values, limit int) iter.Seq2[[]json.RawMessage, error] {
	return func(yield func([]json.RawMessage, error) bool) {
		seen := map[string]bool{}
		for from := 0; ; from += limit {
			if from > maxFrom {
				yield(nil, fmt.Errorf("zohodesk: %s: list longer than %d records", op, maxFrom))
				return
			}
			items, err := c.listPage(ctx, op, path, q, from, limit)
			if err != nil {
				yield(nil, err)
				return
			}
			fresh := dedupe(items, seen)
			if len(fresh) > 0 && !yield(fresh, nil) {
				return
			}
			if len(items) < limit {
				return
			}
		}
	}
}

func (c *Client) listPage(ctx context.Context, op, path string, base url.Values, from, limit int) ([]json.RawMessage, error) {
	q := url.Values{}
	for k, v := range base {
		q[k] = v
	}
	q.Set("from", strconv.Itoa(from))
	q.Set("limit", strconv.Itoa(limit))
	return c.list(ctx, request{op: op, method: http.MethodGet, path: path, query: q})
}

// errEmptyList is a list request answered 200 with no body at all.
var errEmptyList = errors.New("the answer has an empty body where a list is due")

// list sends a list request and returns its records; a 204 is the end of
// the list (no records). A 200 with an empty body, null or unreadable JSON
// is a broken answer, not the end: the transport asks again and then fails
// the listing, so a sync never takes a cut-off listing for a complete one.
func (c *Client) list(ctx context.Context, r request) ([]json.RawMessage, error) {
	var env listEnvelope
	_, err := c.callDecode(ctx, r, func(status int, body []byte) error {
		switch {
		case status == http.StatusNoContent:
			env = listEnvelope{}
			return nil
		case len(body) == 0:
			return errEmptyList
		}
		env = listEnvelope{}
		return json.Unmarshal(body, &env)
	})
	if err != nil {
		return nil, err
	}
	return env.Data, nil
}

func dedupe(items []json.RawMessage, seen map[string]bool) []json.RawMessage {
	out := items[:0:0]
	for _, raw := range items {
		var h recordHead
		_ = json.Unmarshal(raw, &h)
		if h.ID != "" && seen[string(h.ID)] {
			continue
		}
		seen[string(h.ID)] = true
		out = append(out, raw)
	}
	return out
}

// MaxRecordBytes bounds one listed record: a larger one (a hostile or
// corrupted field) is left out and reported through Query.Skip rather
// than stored. Zoho caps descriptions at 65,535 characters, so a real
// ticket is far smaller.
const MaxRecordBytes = 1 << 20

// convertPages maps a raw page stream to domain records with conv. A
// record conv refuses fails the stream, unless skip is set: then it is
// left out, skip is told, and the stream goes on.
func convertPages[T any](pages iter.Seq2[[]json.RawMessage, error], op string, skip func(json.RawMessage, error),
	conv func(json.RawMessage) (T, error)) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		for raws, err := range pages {
			if err != nil {
				yield(nil, err)
				return
			}
			out := make([]T, 0, len(raws))
			for _, raw := range raws {
				if len(raw) > MaxRecordBytes {
					err := fmt.Errorf("record of %d bytes exceeds the %d-byte limit", len(raw), MaxRecordBytes)
					if skip == nil {
						yield(nil, fmt.Errorf("zohodesk: %s: %w", op, err))
						return
					}
					skip(raw, err)
					continue
				}
				v, err := conv(raw)
				if err != nil && skip != nil {
					skip(raw, err)
					continue
				}
				if err != nil {
					yield(nil, fmt.Errorf("zohodesk: %s: %w", op, err))
					return
				}
				out = append(out, v)
			}
			if !yield(out, nil) {
				return
			}
		}
	}
}

// skipper reports the records a listing leaves out to q.Skip, with their
// id when it can be read.
func skipper(q helpdesk.Query, entity helpdesk.Entity) func(json.RawMessage, error) {
	return func(raw json.RawMessage, err error) {
		if q.Skip == nil {
			return
		}
		var h struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(raw, &h)
		q.Skip(helpdesk.Skipped{Entity: entity, ID: strings.Trim(string(h.ID), `"`), Reason: err.Error()})
	}
}

// collect gathers a whole (small) stream into a slice.
func collect[T any](seq iter.Seq2[[]T, error]) ([]T, error) {
	var all []T
	for page, err := range seq {
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
	}
	return all, nil
}

// numericID rejects ids that are not Zoho's numeric strings before they
// reach a URL path.
func numericID(op, id string) error {
	if id == "" {
		return invalid(op, "empty id")
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return invalid(op, fmt.Sprintf("id %q is not numeric", id))
		}
	}
	return nil
}

func invalid(op, msg string) error {
	return &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: op, Kind: helpdesk.ErrInvalid, Message: msg}
}
