package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
)

// script answers requests in turn with the given handlers; the last one
// repeats.
type script struct {
	mu     sync.Mutex
	steps  []http.HandlerFunc
	calls  int
	bodies []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := min(s.calls, len(s.steps)-1)
	s.calls++
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	s.steps[i](w, r)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"status":%d}`, code)
	}
}

var ok = status(200)

// harness is a transport client against a scripted server, with sleeps
// recorded instead of slept.
type harness struct {
	srv    *httptest.Server
	s      *script
	c      *Client
	m      *metrics.Metrics
	mu     sync.Mutex
	sleeps []time.Duration
}

func newHarness(t testing.TB, cfg Config, steps ...http.HandlerFunc) *harness {
	t.Helper()
	h := &harness{s: &script{steps: steps}, m: metrics.New(prometheus.NewRegistry())}
	h.srv = httptest.NewServer(h.s)
	t.Cleanup(h.srv.Close)
	cfg.Provider = "test"
	cfg.Metrics = h.m
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = 100 * time.Millisecond
	}
	h.c = New(cfg)
	h.c.SetSleep(func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.sleeps = append(h.sleeps, d)
		h.mu.Unlock()
		return ctx.Err()
	})
	return h
}

func (h *harness) get(path string) RequestFunc {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+path, nil)
	}
}

func (h *harness) do(t testing.TB) (*Response, error) {
	t.Helper()
	var out map[string]any
	return h.c.DoJSON(context.Background(), "op", h.get("/x?user=alice&token=hunter2"), &out)
}

func (h *harness) slept() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

func TestRetryAfter429(t *testing.T) {
	date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name  string
		first http.HandlerFunc
		check func(time.Duration) bool
	}{
		{"delta seconds", status(429, "Retry-After", "2"), func(d time.Duration) bool { return d == 2*time.Second }},
		{"HTTP date", status(429, "Retry-After", date), func(d time.Duration) bool { return d > time.Second && d <= 3*time.Second }},
		{"no header: backoff", status(429), func(d time.Duration) bool { return d >= 50*time.Millisecond && d <= 100*time.Millisecond }},
		{"unreadable header: backoff", status(429, "Retry-After", "soon"), func(d time.Duration) bool { return d <= 100*time.Millisecond }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, tc.first, ok)
			if _, err := h.do(t); err != nil {
				t.Fatal(err)
			}
			if s := h.slept(); len(s) != 1 || !tc.check(s[0]) {
				t.Fatalf("sleeps = %v", s)
			}
			if n := testutil.ToFloat64(h.m.PSARateLimited.WithLabelValues("test")); n != 1 {
				t.Fatalf("rate limited counter = %v", n)
			}
		})
	}
}

func TestRetryAfterTooLong(t *testing.T) {
	h := newHarness(t, Config{MaxRetryAfter: time.Minute}, status(429, "Retry-After", "3600"), ok)
	_, err := h.do(t)
	if !errors.Is(err, helpdesk.ErrRateLimited) || helpdesk.RetryAfter(err) != time.Hour {
		t.Fatalf("err = %v (retry after %v)", err, helpdesk.RetryAfter(err))
	}
	if h.s.count() != 1 || len(h.slept()) != 0 {
		t.Fatalf("calls = %d sleeps = %v; a too-long wait goes back to the caller", h.s.count(), h.slept())
	}
}

func TestRetry5xx(t *testing.T) {
	h := newHarness(t, Config{}, status(502), status(503), ok)
	if _, err := h.do(t); err != nil {
		t.Fatal(err)
	}
	if h.s.count() != 3 {
		t.Fatalf("calls = %d", h.s.count())
	}
	// Exponential with full jitter: the n-th wait is within [b/2, b].
	for i, d := range h.slept() {
		b := 100 * time.Millisecond << i
		if d < b/2 || d > b {
			t.Errorf("sleep %d = %v, want within [%v, %v]", i, d, b/2, b)
		}
	}
	h = newHarness(t, Config{MaxAttempts: 3}, status(500))
	_, err := h.do(t)
	var he *helpdesk.Error
	if !errors.As(err, &he) || !errors.Is(err, helpdesk.ErrTransient) || he.Status != 500 || h.s.count() != 3 {
		t.Fatalf("err = %v after %d calls", err, h.s.count())
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	cases := []struct {
		code int
		kind error
	}{{400, helpdesk.ErrInvalid}, {403, helpdesk.ErrForbidden}, {404, helpdesk.ErrNotFound},
		{409, helpdesk.ErrInvalid}, {422, helpdesk.ErrInvalid}, {401, helpdesk.ErrUnauthorized}}
	for _, tc := range cases {
		h := newHarness(t, Config{}, status(tc.code), ok)
		_, err := h.do(t)
		if !errors.Is(err, tc.kind) || h.s.count() != 1 || helpdesk.Retryable(err) {
			t.Errorf("%d: err = %v after %d calls", tc.code, err, h.s.count())
		}
	}
}

func TestTimeoutRetried(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}
	h := newHarness(t, Config{HTTPClient: &http.Client{Timeout: 30 * time.Millisecond}, MaxAttempts: 2}, slow)
	_, err := h.do(t)
	if !errors.Is(err, helpdesk.ErrTransient) || !strings.Contains(err.Error(), "timeout") || h.s.count() != 2 {
		t.Fatalf("err = %v after %d calls", err, h.s.count())
	}
	assertNoURL(t, err)
}

func TestTruncatedAndGarbledBodies(t *testing.T) {
	truncated := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.Write([]byte(`{"items":[`))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	garbled := func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"items":[1,2`)) }
	for name, first := range map[string]http.HandlerFunc{"truncated": truncated, "garbled": garbled} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, Config{}, first, ok)
			var out struct{ Status int }
			if _, err := h.c.DoJSON(context.Background(), "op", h.get("/"), &out); err != nil || out.Status != 200 {
				t.Fatalf("out = %+v, err = %v", out, err)
			}
			if h.s.count() != 2 {
				t.Fatalf("calls = %d", h.s.count())
			}
		})
	}
	// Do does not decode, so a garbled 200 is a success there.
	h := newHarness(t, Config{}, garbled)
	if r, err := h.c.Do(context.Background(), "op", h.get("/")); err != nil || r.Status != 200 {
		t.Fatalf("Do = %v, %v", r, err)
	}
}

func TestOnUnauthorizedOnce(t *testing.T) {
	var refreshes atomic.Int32
	h := newHarness(t, Config{OnUnauthorized: func() bool { refreshes.Add(1); return true }}, status(401), ok)
	if _, err := h.do(t); err != nil {
		t.Fatal(err)
	}
	if refreshes.Load() != 1 || h.s.count() != 2 || len(h.slept()) != 0 {
		t.Fatalf("refreshes = %d calls = %d", refreshes.Load(), h.s.count())
	}
	refreshes.Store(0)
	h = newHarness(t, Config{OnUnauthorized: func() bool { refreshes.Add(1); return true }}, status(401))
	if _, err := h.do(t); !errors.Is(err, helpdesk.ErrUnauthorized) || refreshes.Load() != 1 || h.s.count() != 2 {
		t.Fatalf("err = %v refreshes = %d calls = %d", err, refreshes.Load(), h.s.count())
	}
	h = newHarness(t, Config{OnUnauthorized: func() bool { return false }}, status(401), ok)
	if _, err := h.do(t); !errors.Is(err, helpdesk.ErrUnauthorized) || h.s.count() != 1 {
		t.Fatalf("no refresh: err = %v calls = %d", err, h.s.count())
	}
}

func TestMaxConcurrent(t *testing.T) {
	var inflight, peak atomic.Int32
	slow := func(w http.ResponseWriter, _ *http.Request) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		inflight.Add(-1)
		w.Write([]byte(`{}`))
	}
	h := newHarness(t, Config{MaxConcurrent: 3}, slow)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.do(t); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak.Load() != 3 {
		t.Fatalf("peak concurrency = %d, want 3", peak.Load())
	}
}

func TestRateLimiter(t *testing.T) {
	h := newHarness(t, Config{RatePerSecond: 100, Burst: 1}, ok)
	start := time.Now()
	for range 6 {
		if _, err := h.do(t); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Fatalf("6 calls at 100/s took %v", el)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t, Config{}, status(429), status(500), ok)
	if _, err := h.do(t); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]float64{"429": 1, "500": 1, "200": 1} {
		if got := testutil.ToFloat64(h.m.PSARequests.WithLabelValues("test", "op", code)); got != want {
			t.Errorf("requests{code=%s} = %v, want %v", code, got, want)
		}
	}
	if n := testutil.CollectAndCount(h.m.PSARequestDuration); n != 1 {
		t.Errorf("duration series = %d", n)
	}
	h.srv.Close()
	h.do(t)
	if got := testutil.ToFloat64(h.m.PSARequests.WithLabelValues("test", "op", "error")); got != 4 {
		t.Errorf("requests{code=error} = %v, want 4", got)
	}
}

func assertNoURL(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"token=hunter2", "alice", "user="} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error carries the request URL query: %v", err)
		}
	}
}

func TestErrorsNeverCarryTheQuery(t *testing.T) {
	h := newHarness(t, Config{MaxAttempts: 2}, ok)
	h.srv.Close()
	_, err := h.do(t)
	if !errors.Is(err, helpdesk.ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	assertNoURL(t, err)
	h = newHarness(t, Config{}, status(404))
	_, err = h.do(t)
	assertNoURL(t, err)
}

func TestBodyResentOnRetry(t *testing.T) {
	h := newHarness(t, Config{}, status(503), ok)
	build := func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL, strings.NewReader(`{"a":1}`))
	}
	if _, err := h.c.Do(context.Background(), "op", build); err != nil {
		t.Fatal(err)
	}
	if h.s.bodies[0] != `{"a":1}` || h.s.bodies[1] != `{"a":1}` {
		t.Fatalf("bodies = %q", h.s.bodies)
	}
}

func TestHooksAndExcerpt(t *testing.T) {
	long := func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(strings.Repeat("x", 300)))
	}
	h := newHarness(t, Config{}, long)
	_, err := h.do(t)
	var he *helpdesk.Error
	if !errors.As(err, &he) || len(he.Message) != 203 || !strings.HasSuffix(he.Message, "...") {
		t.Fatalf("excerpt = %q", he.Message)
	}
	cfg := Config{
		ErrorMessage: func(status int, body []byte) string { return "provider says " + strconv.Itoa(status) },
		Classify: func(status int, _ http.Header, body []byte) error {
			if strings.Contains(string(body), "slow down") {
				return helpdesk.ErrRateLimited
			}
			return nil
		},
	}
	slowDown := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500); w.Write([]byte("slow down")) }
	h = newHarness(t, cfg, slowDown, status(400))
	_, err = h.do(t)
	if !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(err.Error(), "provider says 400") || h.s.count() != 2 {
		t.Fatalf("err = %v after %d calls", err, h.s.count())
	}
}

func TestContextCancelled(t *testing.T) {
	h := newHarness(t, Config{}, status(503))
	h.c.SetSleep(sleepCtx)
	c, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.c.DoJSON(c, "op", h.get("/"), nil)
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{"": 0, "0": 0, "7": 7 * time.Second, "-3": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0}
	for in, want := range cases {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
