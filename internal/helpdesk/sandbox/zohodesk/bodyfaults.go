package zohodesk

import (
	"net/http"
	"sync"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
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
	Fault sandbox.BrokenBody
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
func (b *bodyFaults) next(r *http.Request) sandbox.BrokenBody {
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
