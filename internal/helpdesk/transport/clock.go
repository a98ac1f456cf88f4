package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// serverClockFresh is how long the Date header of the PSA's latest
// answer stands for its clock. The local monotonic clock measures the
// time since, so an older reading would still be right; the bound only
// catches a PSA whose clock was reset since.
const serverClockFresh = 15 * time.Minute

// serverClock is the PSA's clock as its latest answer told it.
type serverClock struct {
	mu       sync.Mutex
	date     time.Time // the Date header
	received time.Time // local time with its monotonic reading
}

// note records the Date header of an answer received at received.
func (s *serverClock) note(h http.Header, received time.Time) {
	v := h.Get("Date")
	if v == "" {
		return
	}
	d, err := http.ParseTime(v)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.date, s.received = d.UTC(), received
}

// now returns the PSA's time: the latest Date header plus the local
// (monotonic) time elapsed since it was received.
func (s *serverClock) now() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.received.IsZero() {
		return time.Time{}, false
	}
	elapsed := time.Since(s.received)
	if elapsed < 0 || elapsed > serverClockFresh {
		return time.Time{}, false
	}
	return s.date.Add(elapsed), true
}

// ServerTime returns the PSA's current time, read from the Date header of
// its latest answer plus the local monotonic time elapsed since. When no
// answer was received recently, it calls ping (one cheap request) first.
//
// The Date header has a resolution of one second and is stamped before
// the answer travels, so the result lies up to a second plus the
// latency behind the PSA's real clock: never ahead, which is the safe
// side for a sync watermark (the sync overlap covers the difference).
func (c *Client) ServerTime(ctx context.Context, ping func(context.Context) error) (time.Time, error) {
	if t, ok := c.clock.now(); ok {
		return t, nil
	}
	if err := ping(ctx); err != nil {
		return time.Time{}, fmt.Errorf("PSA time: %w", err)
	}
	if t, ok := c.clock.now(); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: PSA time: %w", c.cfg.Provider, ErrNoDate)
}

// ErrNoDate is returned by ServerTime when the PSA's answers carry no
// readable Date header.
var ErrNoDate = errors.New("the PSA's answers carry no readable Date header")
