package transport

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// TestLimiterWaitIsNotSent: a request the client-side limiter cannot let
// through before the context's deadline is helpdesk.ErrNotSent (not a PSA
// failure, not an invalid request), sent nowhere and not retried.
func TestLimiterWaitIsNotSent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := New(Config{Provider: "test", RatePerSecond: 0.1, Burst: 1})
	build := func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	}
	if _, err := c.Do(context.Background(), "get", build); err != nil {
		t.Fatal(err) // the burst
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.Do(ctx, "get", build)
	if !errors.Is(err, helpdesk.ErrNotSent) || errors.Is(err, helpdesk.ErrInvalid) || helpdesk.Retryable(err) {
		t.Fatalf("err %v: want ErrNotSent only", err)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests reached the PSA, want 1", hits.Load())
	}
	// A provider's own limiter, waited for while building the request.
	_, err = New(Config{Provider: "test"}).Do(context.Background(), "get", func(context.Context) (*http.Request, error) {
		return nil, &helpdesk.Error{Kind: helpdesk.ErrNotSent, Err: errors.New("rate: Wait(n=1) would exceed context deadline")}
	})
	if !errors.Is(err, helpdesk.ErrNotSent) || errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("build's limiter error %v: want ErrNotSent, not an invalid request", err)
	}
}
