package transport

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestServerTime reads the PSA's clock from its Date header: 10 minutes
// behind the local one here, it is told as such, never ahead of the
// header's second plus the time since; without an answer yet, one ping
// is made; a PSA without a Date header is an error, not the local time.
func TestServerTime(t *testing.T) {
	psa := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	dated := status(200, "Date", psa.Format(http.TimeFormat))
	tests := []struct {
		name      string
		step      http.HandlerFunc
		before    bool // a request was answered before ServerTime
		wantPings int
		wantErr   error
	}{
		{"after an answer", dated, true, 0, nil},
		{"pings when none was seen", dated, false, 1, nil},
		{"a 429 tells the time too", status(429, "Date", psa.Format(http.TimeFormat)), true, 0, nil},
		{"no Date header", func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Date"] = nil // net/http leaves it out
			w.WriteHeader(200)
			_, _ = w.Write([]byte("{}"))
		}, false, 1, ErrNoDate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{MaxAttempts: 1}, tc.step)
			if tc.before {
				_, _ = h.do(t)
			}
			pings := 0
			ping := func(ctx context.Context) error {
				pings++
				_, err := h.c.Do(ctx, "ping", h.get("/ping"))
				return err
			}
			got, err := h.c.ServerTime(context.Background(), ping)
			if pings != tc.wantPings {
				t.Errorf("pings = %d, want %d", pings, tc.wantPings)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Before(psa) || got.After(psa.Add(time.Minute)) {
				t.Errorf("PSA time %v, want %v plus the time since the answer", got, psa)
			}
		})
	}
}

// TestServerTimePingFails returns the ping's error.
func TestServerTimePingFails(t *testing.T) {
	h := newHarness(t, Config{MaxAttempts: 1}, ok)
	boom := errors.New("unreachable")
	if _, err := h.c.ServerTime(context.Background(), func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the ping's", err)
	}
}
