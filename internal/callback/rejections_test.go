package callback

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// forged posts an unauthenticated delivery of 4 KiB from addr.
func forged(h http.Handler, addr string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/callbacks/fakepsa", bytes.NewReader(bytes.Repeat([]byte("x"), 4<<10)))
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// logCost is the rows and stored bytes (payloads and reasons) of the log.
func logCost(st *memStore) (rows, bytes int) {
	for _, r := range st.all() {
		rows++
		bytes += len(r.Payload) + len(r.Reason)
	}
	return rows, bytes
}

// TestRejectionFloodIsBounded: 5,000 unauthenticated POSTs, from one
// source or from 5,000, add a bounded number of rows and bytes to the
// callback log; the rest are answered 429 and counted; a genuine delivery
// in the middle of the flood is still accepted.
func TestRejectionFloodIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name     string
		addr     func(i int) string
		maxRows  int
		status   int // answer to the last forged POST
		throttle float64
	}{
		{"one source", func(int) string { return "203.0.113.7:40000" }, DefaultRejectBurst, 429, 5000 - DefaultRejectBurst},
		{"5,000 sources", func(i int) string { return fmt.Sprintf("10.%d.%d.1:40000", i/250, i%250) },
			DefaultRejectTotalBurst, 429, 5000 - DefaultRejectTotalBurst},
		{"IPv6 /64 is one source", func(i int) string { return fmt.Sprintf("[2001:db8::%x]:40000", i+1) },
			DefaultRejectBurst, 429, 5000 - DefaultRejectBurst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			var last *httptest.ResponseRecorder
			for i := range 5000 {
				last = forged(h.rc, tc.addr(i))
				if i == 2500 {
					body := envelope(ticketEvent("d-1", "101"))
					if res := post(h.rc, "/callbacks/fakepsa", body, sign(testSecret, body)); res.Code != 200 {
						t.Fatalf("a genuine delivery during the flood was answered %d", res.Code)
					}
				}
			}
			rows, size := logCost(h.st)
			if rows > tc.maxRows+1 {
				t.Errorf("%d rows for 5,000 forged POSTs, want at most %d", rows, tc.maxRows+1)
			}
			if max := DefaultRejectBodies*rejectedExcerpt + 16<<10 + rows*100; size > max {
				t.Errorf("%d bytes logged, want at most %d", size, max)
			}
			if last.Code != tc.status || last.Header().Get("Retry-After") == "" {
				t.Errorf("last forged POST answered %d, Retry-After %q", last.Code, last.Header().Get("Retry-After"))
			}
			if got := h.received("none", ResultThrottled); got != tc.throttle {
				t.Errorf("throttled count %v, want %v", got, tc.throttle)
			}
			if got := h.received("none", "rejected"); got != float64(5000)-tc.throttle {
				t.Errorf("rejected count %v, want %v", got, float64(5000)-tc.throttle)
			}
		})
	}
}

// TestRejectionBudgetRefills: a source's budget comes back with time, and
// bodies are kept again in the next window.
func TestRejectionBudgetRefills(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RejectBodies = 2 })
	for range 30 {
		forged(h.rc, "203.0.113.7:1")
	}
	withBody := func() int {
		n := 0
		for _, r := range h.st.all() {
			if len(r.Payload) > 0 {
				n++
			}
		}
		return n
	}
	if rows, _ := logCost(h.st); rows != DefaultRejectBurst || withBody() != 2 {
		t.Fatalf("%d rows, %d with a body; want %d and 2", rows, withBody(), DefaultRejectBurst)
	}
	h.clock.Add(time.Minute)
	if res := forged(h.rc, "203.0.113.7:1"); res.Code != 401 {
		t.Fatalf("after a minute: answered %d, want 401 (logged again)", res.Code)
	}
	if withBody() != 3 || !strings.Contains(string(h.st.all()[DefaultRejectBurst].Reason), "missing signature") {
		t.Errorf("the new window keeps a body again: %d rows with a body", withBody())
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRejectionSummaryLogged: the rejections that were only counted are
// summed up in one log line per window, even when the flood has stopped.
func TestRejectionSummaryLogged(t *testing.T) {
	var out syncBuffer
	h := newHarness(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&out, nil))
		c.RejectWindow = 20 * time.Millisecond
	})
	for range 30 {
		forged(h.rc, "203.0.113.7:1")
	}
	h.clock.Add(time.Second)
	eventually(t, "the summary line", func() bool {
		return strings.Contains(out.String(), "rejected callbacks over budget") &&
			strings.Contains(out.String(), fmt.Sprintf("count=%d", 30-DefaultRejectBurst))
	})
	if n := strings.Count(out.String(), "callback rejected"); n != DefaultRejectBurst {
		t.Errorf("%d rejections logged one by one, want %d", n, DefaultRejectBurst)
	}
}
