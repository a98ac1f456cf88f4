package halopsa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// list describes a paged list endpoint.
type list struct {
	op    string     // metric and error label: "list tickets"
	path  string     // "/Tickets"
	key   string     // envelope array key: "tickets"
	query url.Values // filters; paging parameters are added
	size  int        // page size to ask for
}

// pageSize clamps a Query's page size to what the client may ask for.
func (c *Client) pageSize(q helpdesk.Query) int {
	if q.PageSize <= 0 || q.PageSize > c.cfg.MaxPageSize {
		return c.cfg.MaxPageSize
	}
	return q.PageSize
}

// pages walks l with pageinate=true&page_size&page_no and yields each
// non-empty page of raw records. It stops on an empty page, on a page
// shorter than the page size the server actually used (Halo caps
// page_size at 100 whatever is asked, so the size in force is learnt from
// the first page, see sizeInForce), and once the records read reach the
// latest page's record_count (the contract's own stop, as Halo's clients
// loop [C-code]): a listing that ends on a full page costs no request for
// an empty page past it. record_count is re-read on every page, so
// tickets created during the walk (new, higher ids) are still reached.
func (c *Client) pages(ctx context.Context, l list) iter.Seq2[[]rawObject, error] {
	return func(yield func([]rawObject, error) bool) {
		var inForce, got int
		var prevFirst rawObject
		for pageNo := 1; ; pageNo++ {
			p, err := c.fetchPage(ctx, l, pageNo)
			if err != nil {
				yield(nil, err)
				return
			}
			n := len(p.records)
			if pageNo == 1 {
				inForce = sizeInForce(l.size, p.pageSize, n)
			} else if n > 0 && bytes.Equal(p.records[0], prevFirst) {
				yield(nil, fmt.Errorf("%s: page %d repeats page %d: the server ignored page_no", l.op, pageNo, pageNo-1))
				return
			}
			if n > 0 && !yield(p.records, nil) {
				return
			}
			got += n
			// got beyond record_count means the count is stale (records
			// deleted mid-walk) or wrong: then only a short page ends it
			if p.bare || n == 0 || n < inForce || p.counted && got == p.recordCount {
				return
			}
			prevFirst = p.records[0]
		}
	}
}

// sizeInForce is the page size the server used, learnt from the first
// page: the envelope's page_size when it is smaller than the size asked
// (the server says it capped), the size asked when the envelope confirms
// it and it is within Halo's cap, otherwise the first page's length (an
// envelope without page_size, or one echoing a size beyond the cap). A
// first page that was short because it was the last then costs one extra,
// empty, request.
func sizeInForce(asked, reported, firstLen int) int {
	switch {
	case reported > 0 && reported < asked:
		return reported
	case reported == asked && asked <= MaxPageSize:
		return asked
	case firstLen > 0 && firstLen < asked:
		return firstLen
	}
	return asked
}

func (c *Client) fetchPage(ctx context.Context, l list, pageNo int) (*page, error) {
	q := url.Values{}
	for k, v := range l.query {
		q[k] = v
	}
	q.Set("pageinate", "true")
	q.Set("page_size", strconv.Itoa(l.size))
	q.Set("page_no", strconv.Itoa(pageNo))
	p := &page{key: l.key}
	if err := c.getList(ctx, l.op, l.path, q, p); err != nil {
		return nil, err
	}
	return p, nil
}

// errEmptyList is a list request answered 2xx with no body at all.
var errEmptyList = errors.New("the answer has an empty body where a list is due")

// getList GETs a list into p. A 2xx with an empty body, null or
// unreadable JSON is a broken answer, not an empty list: the transport
// asks again and then fails the listing, so a sync never takes a cut-off
// listing for a whole one.
func (c *Client) getList(ctx context.Context, op, path string, q url.Values, p *page) error {
	_, err := c.callDecode(ctx, op, request{method: http.MethodGet, path: path, query: q}, func(b []byte) error {
		if len(b) == 0 {
			return errEmptyList
		}
		*p = page{key: p.key} // a retried answer starts afresh
		return json.Unmarshal(b, p)
	})
	return err
}

// stream converts each raw page with conv, which drops records by
// returning false, and yields the non-empty converted pages. A record conv
// refuses is reported to q.Skip and left out. Errors are wrapped with
// "halopsa: <op>".
func stream[T any](src iter.Seq2[[]rawObject, error], op string, q helpdesk.Query, entity helpdesk.Entity,
	conv func(rawObject) (T, bool, error)) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		for raws, err := range src {
			if err != nil {
				yield(nil, fmt.Errorf("halopsa: %s: %w", op, err))
				return
			}
			out := make([]T, 0, len(raws))
			for _, r := range raws {
				if oversized(q, entity, r) {
					continue
				}
				v, keep, err := conv(r)
				if err != nil {
					skip(q, entity, r, err)
					continue
				}
				if keep {
					out = append(out, v)
				}
			}
			if len(out) > 0 && !yield(out, nil) {
				return
			}
		}
	}
}

// MaxRecordBytes bounds one listed record: a larger one (a hostile or
// corrupted field) is left out and reported through Query.Skip rather
// than stored.
const MaxRecordBytes = 1 << 20

// oversized reports (and passes to q.Skip) a record beyond MaxRecordBytes.
func oversized(q helpdesk.Query, entity helpdesk.Entity, r rawObject) bool {
	if len(r) <= MaxRecordBytes {
		return false
	}
	skip(q, entity, r, fmt.Errorf("record of %d bytes exceeds the %d-byte limit", len(r), MaxRecordBytes))
	return true
}
