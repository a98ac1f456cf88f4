package halopsa

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// PageFault breaks one page of one list: GETs of Resource ("tickets",
// "status", ...) with page_no PageNo (1 for lists without paging).
type PageFault struct {
	Resource string
	PageNo   int
	Fault    sandbox.BrokenBody
	// Times is how many answers to that page are broken; 0 means all.
	Times int
}

type bodyFaults struct {
	mu     sync.Mutex
	faults []PageFault
	served map[int]int // fault index → broken answers sent
}

// SetPageFaults replaces the page faults in force.
func (s *Server) SetPageFaults(f ...PageFault) {
	s.bodies.mu.Lock()
	defer s.bodies.mu.Unlock()
	s.bodies.faults = append([]PageFault(nil), f...)
	s.bodies.served = map[int]int{}
}

// next returns the fault for a GET of resource, if any.
func (b *bodyFaults) next(r *http.Request, resource string) sandbox.BrokenBody {
	if r.Method != http.MethodGet {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.faults) == 0 {
		return ""
	}
	pageNo := 1
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, "page_no") && len(v) > 0 {
			pageNo, _ = strconv.Atoi(v[0])
		}
	}
	for i, f := range b.faults {
		if strings.EqualFold(f.Resource, resource) && f.PageNo == pageNo && (f.Times == 0 || b.served[i] < f.Times) {
			b.served[i]++
			return f.Fault
		}
	}
	return ""
}
