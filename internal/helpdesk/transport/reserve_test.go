package transport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// A server that reports what is left in a header: paced requests stop at
// the reserve and wait, the request after the pause probes, unpaced ones
// never wait; the meter counts every request sent.
func TestReserveHoldsPacedRequests(t *testing.T) {
	var left atomic.Int64
	left.Store(30)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := left.Add(-1)
		w.Header().Set("X-Left", strconv.FormatInt(n, 10))
	}))
	t.Cleanup(srv.Close)
	r := NewReserve(0.2, time.Hour)
	r.Observe(-1, 100) // floor 20
	c := New(Config{Provider: "test", Reserve: r, Remaining: func(h http.Header) (int, bool) {
		n, err := strconv.Atoi(h.Get("X-Left"))
		return n, err == nil
	}})
	var pauses int
	c.SetSleep(func(_ context.Context, d time.Duration) error {
		if d == time.Hour {
			pauses++
			left.Store(100) // the allowance came back
		}
		return nil
	})
	get := func(ctx context.Context) {
		t.Helper()
		_, err := c.Do(ctx, "get", func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	m := &helpdesk.Meter{Entity: helpdesk.EntityTickets, Paced: true}
	paced := helpdesk.WithMeter(context.Background(), m)
	for range 10 {
		get(paced) // 29 … 20 left: the tenth leaves exactly the reserve
	}
	if pauses != 0 {
		t.Fatalf("paused %d times above the reserve", pauses)
	}
	get(context.Background()) // unpaced: goes at the reserve
	if pauses != 0 || r.Remaining() != 19 {
		t.Fatalf("unpaced request: %d pauses, %d left; want 0, 19", pauses, r.Remaining())
	}
	get(paced)
	if pauses != 1 || r.Remaining() != 99 {
		t.Errorf("paced request at the reserve: %d pauses, %d left; want 1 pause, then the probe reads 99", pauses, r.Remaining())
	}
	if m.Requests() != 11 {
		t.Errorf("meter counted %d requests, want 11", m.Requests())
	}
}

func TestReserveUnknownOrOffHoldsNothing(t *testing.T) {
	r := NewReserve(0.2, 0)
	if held, _, _ := r.held(); held {
		t.Error("held with nothing reported yet")
	}
	r.Observe(0, 0)
	if held, _, _ := r.held(); !held {
		t.Error("not held with nothing left")
	}
	off := NewReserve(0, 0)
	off.Observe(0, 1000)
	if held, _, _ := off.held(); held {
		t.Error("a reserve of 0 held a request")
	}
	var nilReserve *Reserve
	nilReserve.Observe(5, 10) // a client without a reserve
	if nilReserve.Remaining() != -1 {
		t.Error("nil reserve reports a remaining count")
	}
}
