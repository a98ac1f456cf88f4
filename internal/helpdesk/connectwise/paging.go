package connectwise

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
	"github.com/horizon/reconciler/internal/helpdesk/listing"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// listSpec is one list endpoint walk.
type listSpec struct {
	op    string // metric op and error context, e.g. "list tickets"
	path  string
	conds []string // extra conditions, ANDed
	since time.Time
	// after resumes the walk after this record id (helpdesk.Query.After):
	// the condition id > after, every walk being in ascending id order.
	after string
	size  int
	// entity and skip report records left out (wrong type, oversized
	// field); skip may be nil.
	entity helpdesk.Entity
	skip   func(helpdesk.Skipped)
	// small marks a short list whose records do not move during a walk
	// (picklists, one ticket's notes): it is walked with navigable
	// paging, whose Link header leaves out rel="next" on the last page,
	// so the walk ends without asking for an empty page. Forward-only
	// paging always sends a next link [D] and ends only on an empty page.
	small bool
}

// conditions returns the conditions parameter for s.
func (s listSpec) conditions() string {
	conds := s.conds
	if after, err := s.afterID(); err == nil && after > 0 {
		conds = append([]string{"id > " + strconv.FormatInt(after, 10)}, conds...)
	}
	if !s.since.IsZero() {
		conds = append([]string{"lastUpdated > " + cwTime(s.since)}, conds...)
	}
	return strings.Join(conds, " AND ")
}

// afterID reads s.after: a record id, or 0 when empty.
func (s listSpec) afterID() (int64, error) {
	if s.after == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s.after, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("resume after %q: not a record id: %w", s.after, helpdesk.ErrInvalid)
	}
	return n, nil
}

// cwTime formats t for a condition: UTC in square brackets, truncated to
// the second (the truncation widens a "> since" filter, never narrows it).
func cwTime(t time.Time) string {
	return "[" + t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z") + "]"
}

// pageSize clamps a requested page size to the API maximum.
func pageSize(n int) int {
	if n <= 0 || n > MaxPageSize {
		return MaxPageSize
	}
	return n
}

// stream walks a list endpoint page by page, converting each record. A
// record that cannot be converted is left out and reported to s.skip.
func stream[T any](ctx context.Context, c *Client, s listSpec, conv func(json.RawMessage) (T, error)) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		mode := c.cfg.Paging
		if s.small {
			mode = Navigable
		}
		after, err := s.afterID()
		if err != nil {
			yield(nil, wrapErr(s.op, err))
			return
		}
		// Forward-only paging starts past after too, so that its checks
		// that the walk advances start from there.
		p := &pager{mode: mode, size: pageSize(s.size), full: pageSize(s.size), page: 1, pageID: after}
		for {
			raws, links, err := c.fetchPage(ctx, s, p, "")
			var tooLarge *transport.TooLargeError
			if errors.As(err, &tooLarge) && p.mode == ForwardOnly {
				if err = c.overBound(ctx, s, p, tooLarge, err); err == nil {
					continue
				}
			}
			if err == nil && len(raws) == 0 {
				return
			}
			var items []T
			var lastID int64
			if err == nil {
				items = listing.Records(raws, s.entity, c.cfg.MaxFieldBytes, conv, s.skip)
				lastID, _ = strconv.ParseInt(listing.ID(raws[len(raws)-1]), 10, 64)
			}
			if err == nil {
				err = p.advance(len(raws), lastID, links)
				if p.left -= len(raws); p.left <= 0 {
					p.restore()
				}
			}
			if err != nil {
				yield(nil, wrapErr(s.op, err))
				return
			}
			if !yield(items, nil) || p.done {
				return
			}
		}
	}
}

// overBound deals with a forward-only page over the response bound: it
// asks for smaller pages (one in eight) and, when a single record is over
// the bound, reads only its id (fields=id, a partial response [D]),
// reports it to s.skip and steps past it, so that one huge record costs
// the walk that record only.
func (c *Client) overBound(ctx context.Context, s listSpec, p *pager, tl *transport.TooLargeError, cause error) error {
	if p.size > 1 {
		p.left = p.size // read the failed page's span in smaller pages
		p.size, p.largest = max(1, p.size/8), 0
		return nil
	}
	raws, _, err := c.fetchPage(ctx, s, p, "id")
	if err != nil {
		return err
	}
	if len(raws) == 0 {
		return cause
	}
	id := listing.ID(raws[0])
	n, perr := strconv.ParseInt(id, 10, 64)
	if perr != nil || n <= p.pageID {
		return cause
	}
	if s.skip != nil {
		s.skip(helpdesk.Skipped{Entity: s.entity, ID: id,
			Reason: "record larger than the response limit of " + transport.FormatBytes(tl.Limit)})
	}
	p.pageID = n
	p.left = 0 // past the huge record: full pages again
	p.restore()
	return nil
}

func (c *Client) fetchPage(ctx context.Context, s listSpec, p *pager, fields string) ([]json.RawMessage, string, error) {
	q := url.Values{}
	if fields != "" {
		q.Set("fields", fields)
	}
	if cond := s.conditions(); cond != "" {
		q.Set("conditions", cond)
	}
	q.Set("pageSize", strconv.Itoa(p.size))
	h := http.Header{}
	if p.mode == Navigable {
		q.Set("orderBy", "id asc")
		q.Set("page", strconv.Itoa(p.page))
	} else {
		h.Set("pagination-type", "forward-only")
		if p.pageID > 0 {
			q.Set("pageId", strconv.FormatInt(p.pageID, 10))
		}
	}
	raws, res, err := c.list(ctx, s.op, request{method: http.MethodGet, path: s.path, query: q, header: h})
	if err != nil {
		return nil, "", err
	}
	return raws, strings.Join(res.Header.Values("Link"), ", "), nil
}

// pager holds the position of a walk and decides when it ends.
type pager struct {
	mode    Paging
	size    int   // asked for now
	full    int   // asked for when no page is over the response bound
	left    int   // records to read in smaller pages before full ones again
	page    int   // navigable
	pageID  int64 // forward-only
	largest int   // largest page seen
	done    bool
}

// advance moves past a page of n records whose last id is lastID, given
// the response's Link header. It sets done when the walk is over: a Link
// header without rel="next", or a page shorter than an earlier one (the
// first page is never short: a server cap may be below the size asked).
func (p *pager) advance(n int, lastID int64, linkHeader string) error {
	links := parseLinks(linkHeader)
	next, hasNext := links["next"]
	short := p.largest > 0 && n < p.largest
	p.largest = max(p.largest, n)
	if (len(links) > 0 && !hasNext) || short {
		p.done = true
		return nil
	}
	nq := url.Values{}
	if u, err := url.Parse(next); err == nil {
		nq = u.Query()
	}
	if p.mode == Navigable {
		p.page = int(nextInt(nq.Get("page"), int64(p.page)+1, int64(p.page)))
		return nil
	}
	id := nextInt(nq.Get("pageId"), lastID, p.pageID)
	if id <= p.pageID {
		return fmt.Errorf("forward-only paging did not advance past id %d", p.pageID)
	}
	p.pageID = id
	return nil
}

// restore asks for full pages again after smaller ones (see overBound),
// once the span of the page that was over the bound is read; the smaller
// pages do not count as short.
func (p *pager) restore() {
	if p.size != p.full {
		p.size, p.largest = p.full, 0
	}
}

// nextInt parses v when it is a number above floor, else returns def.
func nextInt(v string, def, floor int64) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= floor {
		return def
	}
	return n
}

// parseLinks reads an RFC 5988 Link header into rel → URL.
func parseLinks(h string) map[string]string {
	out := map[string]string{}
	for {
		i := strings.IndexByte(h, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(h[i:], '>')
		if j < 0 {
			return out
		}
		target := h[i+1 : i+j]
		h = h[i+j+1:]
		params := h
		if k := strings.IndexByte(h, '<'); k >= 0 {
			params = h[:k]
		}
		for _, rel := range relValues(params) {
			out[rel] = target
		}
	}
}

// relValues returns the rel values in a link's parameters.
func relValues(params string) []string {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "rel") {
			v = strings.Trim(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(v), ",")), `"`)
			return strings.Fields(strings.ToLower(v))
		}
	}
	return nil
}

// unsupported is the error for operations this PSA's API does not offer.
func unsupported(op string) error {
	return fmt.Errorf("connectwise: %s: %w", op, helpdesk.ErrUnsupported)
}
