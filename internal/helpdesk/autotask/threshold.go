package autotask

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// opThreshold is the metric label of GET /ThresholdInformation.
const opThreshold = "threshold"

// opCount is the metric label of POST /{Entity}/query/count.
const opCount = "count"

// minRate is the slowest the limiter goes near the threshold: one call
// every 30 s, so that work still moves and usage is re-read.
const minRate = 1.0 / 30

// Threshold is the tenant's API usage as GET /ThresholdInformation reports
// it [K/I]: Used requests in the last WindowMinutes, against Limit.
type Threshold struct {
	Limit         int // externalRequestThreshold
	Used          int // currentTimeframeRequestCount
	WindowMinutes int // requestThresholdTimeframe
}

// Ratio returns Used/Limit, 0 when Limit is unknown.
func (t Threshold) Ratio() float64 {
	if t.Limit <= 0 {
		return 0
	}
	return float64(t.Used) / float64(t.Limit)
}

// thresholdWire is the ThresholdInformation answer. go-autotask reads the
// first and third keys [K]; the timeframe key is [I], and a missing one
// means the documented 60 minutes [D].
type thresholdWire struct {
	ExternalRequestThreshold     flexInt `json:"externalRequestThreshold"`
	RequestThresholdTimeframe    flexInt `json:"requestThresholdTimeframe"`
	CurrentTimeframeRequestCount flexInt `json:"currentTimeframeRequestCount"`
}

// Threshold reads the tenant's API usage and paces the client's limiter
// by it: full speed below half the threshold (where Autotask starts adding
// latency [D]), above it no faster than the remaining budget spread over
// the window.
func (c *Client) Threshold(ctx context.Context) (Threshold, error) {
	var w thresholdWire
	err := c.call(ctx, request{op: opThreshold, method: http.MethodGet, path: "ThresholdInformation"}, &w)
	if err != nil {
		return Threshold{}, fmt.Errorf("autotask: read threshold: %w", err)
	}
	t := Threshold{Limit: int(w.ExternalRequestThreshold.V), Used: int(w.CurrentTimeframeRequestCount.V),
		WindowMinutes: int(w.RequestThresholdTimeframe.V)}
	if t.WindowMinutes <= 0 {
		t.WindowMinutes = 60
	}
	c.pace.apply(t)
	c.observeThreshold(t)
	return t, nil
}

// refreshThreshold re-reads the threshold in the background of a call;
// failures are logged, never returned.
func (c *Client) refreshThreshold(ctx context.Context) {
	if !c.pace.checking.CompareAndSwap(false, true) {
		return
	}
	defer c.pace.checking.Store(false)
	if t, err := c.Threshold(ctx); err != nil {
		c.log.DebugContext(ctx, "autotask threshold check failed", "err", err)
	} else if t.Ratio() >= 0.5 {
		c.log.InfoContext(ctx, "autotask API usage high; slowing down", "used", t.Used, "limit", t.Limit,
			"rate", float64(c.pace.limit()))
	}
}

// pacer is the client-side limiter, re-tuned from the usage threshold.
type pacer struct {
	lim      *rate.Limiter // nil: no limit
	base     rate.Limit
	every    int64 // calls between threshold reads; 0: never
	calls    atomic.Int64
	checking atomic.Bool
	mu       sync.Mutex
}

func newPacer(perSecond float64, burst, every int) *pacer {
	p := &pacer{}
	if every == 0 {
		every = DefaultThresholdCheckEvery
	}
	if every > 0 {
		p.every = int64(every)
	}
	if perSecond == 0 {
		perSecond = DefaultRatePerSecond
	}
	if burst <= 0 {
		burst = 5
	}
	if perSecond > 0 {
		p.base = rate.Limit(perSecond)
		p.lim = rate.NewLimiter(p.base, burst)
	}
	return p
}

func (p *pacer) wait(ctx context.Context) error {
	p.calls.Add(1)
	if p.lim == nil {
		return nil
	}
	if err := p.lim.Wait(ctx); err != nil {
		return &helpdesk.Error{Provider: helpdesk.Autotask, Kind: helpdesk.ErrNotSent, Err: err}
	}
	return nil
}

// due reports whether the threshold should be read now.
func (p *pacer) due() bool {
	return p.every > 0 && p.calls.Load()%p.every == 0
}

func (p *pacer) limit() rate.Limit {
	if p.lim == nil {
		return rate.Inf
	}
	return p.lim.Limit()
}

// apply re-tunes the limiter for usage t.
func (p *pacer) apply(t Threshold) {
	if p.lim == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lim.SetLimit(pacedRate(p.base, t))
}

// pacedRate is base below half the threshold, else the remaining budget
// per second of the window, clamped to [minRate, base].
func pacedRate(base rate.Limit, t Threshold) rate.Limit {
	if t.Limit <= 0 || t.Ratio() < 0.5 {
		return base
	}
	window := float64(max(t.WindowMinutes, 1) * 60)
	r := rate.Limit(float64(max(t.Limit-t.Used, 0)) / window)
	return min(max(r, rate.Limit(minRate)), base)
}

// RateLimit returns the client-side limiter's current rate in requests
// per second (+Inf when unlimited), for status pages and tests.
func (c *Client) RateLimit() float64 { return float64(c.pace.limit()) }
