package transport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// endless streams n bytes of JSON whitespace without holding them.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n)
	for i := range p[:k] {
		p[i] = ' '
	}
	e.n -= k
	return int(k), nil
}

func hugeBody(n int64, withLength bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if !withLength {
			w.Header().Set("Transfer-Encoding", "chunked")
		}
		w.WriteHeader(200)
		io.Copy(w, &endless{n: n})
	}
}

func TestResponseOverTheBoundIsAnErrorNotRetried(t *testing.T) {
	for _, withLength := range []bool{true, false} {
		h := newHarness(t, Config{MaxResponseBytes: 1 << 20}, hugeBody(3<<20, withLength))
		_, err := h.do(t)
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.Limit != 1<<20 {
			t.Fatalf("err = %v, want a TooLargeError of 1 MiB", err)
		}
		if !strings.Contains(err.Error(), "larger than the limit of 1 MiB") {
			t.Errorf("message %q does not name the limit", err)
		}
		if n := h.s.count(); n != 1 {
			t.Errorf("requests = %d: an oversized answer must not be fetched again", n)
		}
	}
}

func TestResponseAtTheBoundIsRead(t *testing.T) {
	body := `{"a":"` + strings.Repeat("x", 1000) + `"}`
	h := newHarness(t, Config{MaxResponseBytes: int64(len(body))}, func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, body)
	})
	if _, err := h.do(t); err != nil {
		t.Fatal(err)
	}
}

// TestOversizedResponseMemory bounds what a hostile 64 MiB answer costs:
// the bytes allocated while refusing it (the in-process server's own
// included) stay a small multiple of the 1 MiB limit, far below the size
// of the answer.
func TestOversizedResponseMemory(t *testing.T) {
	const limit, sent = 1 << 20, 64 << 20
	h := newHarness(t, Config{MaxResponseBytes: limit}, hugeBody(sent, false))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := h.do(t)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("want an error")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*limit {
		t.Errorf("allocated %d bytes refusing a %d-byte answer; want under %d", alloc, sent, 16*limit)
	}
}

// BenchmarkOversizedResponse reads a 64 MiB answer with the default
// bound (refused at 32 MiB, once) and with a bound above it (read whole,
// then retried as undecodable, as before there was a bound): compare
// B/op.
func BenchmarkOversizedResponse(b *testing.B) {
	for _, bc := range []struct {
		name  string
		limit int64
	}{{"bounded", DefaultMaxResponseBytes}, {"unbounded", 64<<20 + 1}} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHarness(b, Config{MaxResponseBytes: bc.limit}, hugeBody(64<<20, false))
			b.ReportAllocs()
			for b.Loop() {
				h.do(b)
			}
		})
	}
}

// capture is a slog handler keeping records.
type capture struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r)
	return nil
}
func (c *capture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *capture) WithGroup(string) slog.Handler      { return c }

func TestEveryRetryWaitIsLoggedAtInfo(t *testing.T) {
	logs := &capture{}
	h := newHarness(t, Config{Logger: slog.New(logs)},
		status(429, "Retry-After", "7"), status(503), ok)
	if _, err := h.do(t); err != nil {
		t.Fatal(err)
	}
	if len(logs.recs) != 2 {
		t.Fatalf("logged %d records, want one per wait (2)", len(logs.recs))
	}
	for i, r := range logs.recs {
		if r.Level != slog.LevelInfo {
			t.Errorf("record %d at %v, want info", i, r.Level)
		}
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		for _, k := range []string{"provider", "op", "cause", "wait", "attempt"} {
			if _, ok := attrs[k]; !ok {
				t.Errorf("record %d lacks %q: %v", i, k, attrs)
			}
		}
		all := r.Message
		for _, v := range attrs {
			all += " " + v.String()
		}
		if strings.Contains(all, "hunter2") || strings.Contains(all, "user=alice") || strings.Contains(all, "/x?") {
			t.Errorf("record %d carries the URL or its query: %s", i, all)
		}
		if i == 0 {
			if attrs["wait"].Duration() != 7*time.Second || !strings.Contains(attrs["cause"].String(), "rate limited (HTTP 429)") ||
				attrs["attempt"].Int64() != 1 {
				t.Errorf("first wait logged as %v", attrs)
			}
		}
		if i == 1 && !strings.Contains(attrs["cause"].String(), "HTTP 503") {
			t.Errorf("second cause = %v", attrs["cause"])
		}
	}
}

func TestDoDecodeRetriesWhatDoesNotDecode(t *testing.T) {
	h := newHarness(t, Config{}, func(w http.ResponseWriter, _ *http.Request) {}, ok)
	n := 0
	_, err := h.c.DoDecode(context.Background(), "op", h.get("/x"), func(b []byte) error {
		n++
		if len(b) == 0 {
			return errors.New("empty body where a list is due")
		}
		return nil
	})
	if err != nil || n != 2 || h.s.count() != 2 {
		t.Fatalf("err %v after %d decodes, %d requests", err, n, h.s.count())
	}
	h = newHarness(t, Config{MaxAttempts: 3}, func(w http.ResponseWriter, _ *http.Request) {})
	_, err = h.c.DoDecode(context.Background(), "op", h.get("/x"), func(b []byte) error { return errors.New("empty body") })
	if !errors.Is(err, helpdesk.ErrTransient) || !strings.Contains(err.Error(), "empty body") || h.s.count() != 3 {
		t.Fatalf("err %v after %d requests, want the decode error after 3", err, h.s.count())
	}
}
