package sandbox

import (
	"net/http"
	"strings"
	"time"
)

// WriteFaultSettings says which faults an emulator injects into write
// requests only (creates, updates, deletes), so that a test can fail the
// one write it is about while the reads around it succeed. Counts apply
// to the next writes, in this order of precedence, and run down.
type WriteFaultSettings struct {
	// RateLimit answers the next N writes with the PSA's own 429, before
	// applying them.
	RateLimit int
	// ServerError answers the next N writes with the PSA's 5xx, before
	// applying them.
	ServerError int
	// LoseAnswer applies the next N writes and then drops the connection
	// without an answer: the PSA holds the record, the client cannot know.
	LoseAnswer int
	// Latency delays the answer to every write after the write is applied
	// (a slow PSA): a client that gives up first cannot know the outcome.
	Latency time.Duration
}

// SetWrites replaces the write fault settings.
func (f *Faults) SetWrites(s WriteFaultSettings) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w = s
}

// Writes returns the write fault settings in force (counts left).
func (f *Faults) Writes() WriteFaultSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w
}

// nextWrite decides the fault for the next write request.
func (f *Faults) nextWrite() (Fault, time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.w.RateLimit > 0:
		f.w.RateLimit--
		return FaultRateLimited, f.w.Latency, false
	case f.w.ServerError > 0:
		f.w.ServerError--
		return FaultServerError, f.w.Latency, false
	case f.w.LoseAnswer > 0:
		f.w.LoseAnswer--
		return NoFault, f.w.Latency, true
	}
	return NoFault, f.w.Latency, false
}

// IsWrite reports whether r changes data: POST, PUT, PATCH and DELETE,
// except the POSTs that only read (Autotask's .../query, ConnectWise's
// .../search).
func IsWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	p := strings.ToLower(r.URL.Path)
	return !strings.Contains(p, "/query") && !strings.HasSuffix(p, "/search")
}

// serveWrite applies the write faults to r. It returns false when the
// request is to go on to the general faults and the handler.
func (f *Faults) serveWrite(w http.ResponseWriter, r *http.Request, next http.Handler, ew ErrorWriters) bool {
	if !IsWrite(r) {
		return false
	}
	fault, latency, lose := f.nextWrite()
	switch {
	case fault == FaultRateLimited:
		ew.RateLimited(w, 0)
	case fault == FaultServerError:
		ew.ServerError(w)
	case lose:
		next.ServeHTTP(&recorder{h: http.Header{}, status: 200}, r)
		panic(http.ErrAbortHandler)
	case latency > 0:
		rec := &recorder{h: http.Header{}, status: 200}
		next.ServeHTTP(rec, r)
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			panic(http.ErrAbortHandler) // the client gave up; the write stands
		case <-t.C:
		}
		for k, v := range rec.h {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		w.Write(rec.buf.Bytes())
	default:
		return false
	}
	return true
}
