package zohodesk

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// BodyFault is a broken 200 answer to a list request: what a proxy, a
// load balancer or an overloaded PSA has been seen to send in the middle
// of a listing.
type BodyFault string

// Body faults.
const (
	// BodyEmpty is a 200 with no body at all (not Zoho's 204).
	BodyEmpty BodyFault = "empty"
	// BodyNull is a 200 whose body is the JSON literal null.
	BodyNull BodyFault = "null"
	// BodyTruncated announces the whole page, sends half and drops the
	// connection.
	BodyTruncated BodyFault = "truncated"
	// BodyHTML is a 200 with an HTML error page (a proxy's).
	BodyHTML BodyFault = "html"
)

// PageFault breaks the answer to the Nth GET of one API path. Zoho's
// list paging restarts from=0 as the client's search window moves, so a
// page is counted by request, not by offset.
type PageFault struct {
	// Path is the request path, e.g. "/api/v1/tickets/search".
	Path string
	// Request is the 1-based count of GETs to Path that is broken;
	// with Times > 1 (or 0) the following requests are broken too.
	Request int
	// Fault is what is sent instead of the page.
	Fault BodyFault
	// Times is how many requests in a row are broken, from Request on;
	// 0 means every request from Request on.
	Times int
}

// bodyFaults holds the page faults in force and counts GETs per path.
type bodyFaults struct {
	mu     sync.Mutex
	faults []PageFault
	counts map[string]int
}

// SetPageFaults replaces the page faults in force and restarts the
// request counts.
func (e *Emulator) SetPageFaults(f ...PageFault) {
	e.bodies.mu.Lock()
	defer e.bodies.mu.Unlock()
	e.bodies.faults = append([]PageFault(nil), f...)
	e.bodies.counts = map[string]int{}
}

// next counts a GET to path and returns the fault to apply, if any.
func (b *bodyFaults) next(r *http.Request) BodyFault {
	if r.Method != http.MethodGet {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.faults) == 0 {
		return ""
	}
	b.counts[r.URL.Path]++
	n := b.counts[r.URL.Path]
	for _, f := range b.faults {
		if f.Path == r.URL.Path && n >= f.Request && (f.Times == 0 || n < f.Request+f.Times) {
			return f.Fault
		}
	}
	return ""
}

// serveBroken answers with fault instead of what next would have sent.
func serveBroken(w http.ResponseWriter, r *http.Request, fault BodyFault, next http.HandlerFunc) {
	switch fault {
	case BodyEmpty:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
	case BodyNull:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("null"))
	case BodyHTML:
		page := "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(page))
	case BodyTruncated:
		rec := &captured{h: http.Header{}, status: http.StatusOK}
		next(rec, r)
		sandbox.WriteTruncated(w, rec.status, rec.h, rec.body)
	}
}

// captured records a handler's answer.
type captured struct {
	h      http.Header
	status int
	body   []byte
}

func (c *captured) Header() http.Header         { return c.h }
func (c *captured) WriteHeader(s int)           { c.status = s }
func (c *captured) Write(b []byte) (int, error) { c.body = append(c.body, b...); return len(b), nil }
