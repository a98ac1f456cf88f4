package sandbox

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// FaultSettings says which faults an emulator injects. The zero value
// injects none.
type FaultSettings struct {
	// RateLimitEvery answers every Nth API request with the PSA's own 429
	// (0: never).
	RateLimitEvery int
	// RequestsPerSecond answers requests beyond this rate with 429 (0: no
	// limit).
	RequestsPerSecond float64
	// RetryAfter is sent on injected 429s; zero omits the header.
	RetryAfter time.Duration
	// ErrorRate is the fraction of requests answered 500.
	ErrorRate float64
	// Latency delays every API response.
	Latency time.Duration
	// TruncateRate is the fraction of successful responses cut off half way
	// (the connection is dropped mid-body).
	TruncateRate float64
	// DropWebhooks is the fraction of webhook deliveries silently dropped.
	DropWebhooks float64
	// Unauthorized answers every API request as if the credentials had
	// been revoked.
	Unauthorized bool
	// Pages corrupt chosen answers of list endpoints (see PageFault).
	Pages []PageFault
}

// Faults injects faults; safe for concurrent use, deterministic for a
// seed.
type Faults struct {
	mu    sync.Mutex
	s     FaultSettings
	w     WriteFaultSettings
	r     *rand.Rand
	n     int64
	last  time.Time
	token float64
	// pageSeen counts requests per page fault (index in s.Pages).
	pageSeen map[int]int
	// now is the PSA's clock (World.Now), sent in every answer's Date
	// header as a PSA sends its own (net/http would send the host's).
	now func() time.Time
}

// setClock sets the clock of the Date header.
func (f *Faults) setClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// date sets the Date header from the PSA's clock.
func (f *Faults) date(w http.ResponseWriter) {
	f.mu.Lock()
	now := f.now
	f.mu.Unlock()
	if now != nil {
		w.Header().Set("Date", now().UTC().Format(http.TimeFormat))
	}
}

// NewFaults returns a fault injector seeded for repeatable runs.
func NewFaults(seed int64) *Faults {
	return &Faults{r: rand.New(rand.NewPCG(uint64(seed), 7))}
}

// Set replaces the settings.
func (f *Faults) Set(s FaultSettings) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s = s
	f.token = s.RequestsPerSecond
	f.pageSeen = nil
}

// Settings returns the settings in force.
func (f *Faults) Settings() FaultSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s
}

// Fault is what to do with one request.
type Fault int

// Faults an emulator applies to a request.
const (
	NoFault Fault = iota
	FaultRateLimited
	FaultServerError
	FaultUnauthorized
	FaultTruncate
)

// Next decides the fault for the next API request.
func (f *Faults) Next() (Fault, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	s := f.s
	switch {
	case s.Unauthorized:
		return FaultUnauthorized, s.Latency
	case s.RateLimitEvery > 0 && f.n%int64(s.RateLimitEvery) == 0:
		return FaultRateLimited, s.Latency
	case s.RequestsPerSecond > 0 && !f.takeToken():
		return FaultRateLimited, s.Latency
	case s.ErrorRate > 0 && f.r.Float64() < s.ErrorRate:
		return FaultServerError, s.Latency
	case s.TruncateRate > 0 && f.r.Float64() < s.TruncateRate:
		return FaultTruncate, s.Latency
	}
	return NoFault, s.Latency
}

// takeToken is a token bucket of one second's burst.
func (f *Faults) takeToken() bool {
	now := time.Now()
	if !f.last.IsZero() {
		f.token = min(f.s.RequestsPerSecond, f.token+now.Sub(f.last).Seconds()*f.s.RequestsPerSecond)
	}
	f.last = now
	if f.token < 1 {
		return false
	}
	f.token--
	return true
}

// DropWebhook decides whether to drop one webhook delivery.
func (f *Faults) DropWebhook() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s.DropWebhooks > 0 && f.r.Float64() < f.s.DropWebhooks
}

// ErrorWriters write a PSA's own answers for injected faults.
type ErrorWriters struct {
	// RateLimited writes the PSA's 429; retryAfter is zero when the
	// header must be omitted.
	RateLimited  func(w http.ResponseWriter, retryAfter time.Duration)
	ServerError  func(w http.ResponseWriter)
	Unauthorized func(w http.ResponseWriter)
}

// Wrap applies injected faults in front of an emulator's handler. Requests
// for which skip returns true (token endpoints, discovery) pass untouched.
func (f *Faults) Wrap(next http.Handler, ew ErrorWriters, skip func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.date(w)
		if skip != nil && skip(r) {
			next.ServeHTTP(w, r)
			return
		}
		if f.serveWrite(w, r, next, ew) {
			return
		}
		fault, latency := f.Next()
		if latency > 0 {
			t := time.NewTimer(latency)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		switch fault {
		case FaultRateLimited:
			ra := f.Settings().RetryAfter
			if ra > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
			}
			ew.RateLimited(w, ra)
		case FaultServerError:
			ew.ServerError(w)
		case FaultUnauthorized:
			ew.Unauthorized(w)
		case FaultTruncate:
			rec := &recorder{h: http.Header{}, status: 200}
			next.ServeHTTP(rec, r)
			WriteTruncated(w, rec.status, rec.h, rec.buf.Bytes())
		default:
			if pf, ok := f.pageFault(r.URL.Path); ok {
				rec := &recorder{h: http.Header{}, status: 200}
				next.ServeHTTP(rec, r)
				writeCorrupted(w, rec, pf)
				return
			}
			next.ServeHTTP(w, r)
		}
	})
}

// WriteTruncated sends status and headers announcing the whole body, writes
// half of it and drops the connection, as a proxy cut-off would.
func WriteTruncated(w http.ResponseWriter, status int, h http.Header, body []byte) {
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body[:len(body)/2])
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	panic(http.ErrAbortHandler)
}

type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }
