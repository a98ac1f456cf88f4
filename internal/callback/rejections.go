package callback

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the rejection budget.
const (
	DefaultRejectRate    = 1.0 // logged rejections per second and source
	DefaultRejectBurst   = 20
	DefaultRejectSources = 10000
	// DefaultRejectTotalRate and DefaultRejectTotalBurst bound logged
	// rejections over all sources together.
	DefaultRejectTotalRate  = 10.0
	DefaultRejectTotalBurst = 100
	// DefaultRejectBodies is how many rejected bodies (excerpts) are kept
	// per RejectWindow.
	DefaultRejectBodies = 50
	DefaultRejectWindow = time.Minute
)

// ReasonThrottled is the answer to a rejected delivery from a source over
// its budget; such deliveries are counted with ResultThrottled in
// horizon_callbacks_received_total, not logged.
const (
	ReasonThrottled = "too many rejected deliveries from this source"
	ResultThrottled = "throttled"
)

// rejections bounds what rejected deliveries (unauthenticated input) may
// cost the callback log: each source may have RejectRate rejections a
// second logged (burst RejectBurst), all sources together
// RejectTotalRate; beyond that a rejection is answered 429 and only
// counted. Only the first RejectBodies rejections of each RejectWindow
// keep a body excerpt. Deliveries that pass verification never touch
// this budget, so a flood of forgeries cannot crowd out the PSA even when
// both reach Horizon through one proxy address.
type rejections struct {
	cfg *Config
	log *slog.Logger

	mu       sync.Mutex
	sources  map[netip.Prefix]*rate.Limiter
	overflow *rate.Limiter // shared by sources beyond RejectSources
	total    *rate.Limiter
	window   time.Time // start of the current body window
	bodies   int       // bodies kept in the current window
	dropped  int       // rejections not logged in the current window
	from     map[netip.Prefix]bool
}

func newRejections(cfg *Config, log *slog.Logger) *rejections {
	return &rejections{cfg: cfg, log: log, sources: map[netip.Prefix]*rate.Limiter{},
		overflow: rate.NewLimiter(rate.Limit(cfg.RejectRate), cfg.RejectBurst),
		total:    rate.NewLimiter(rate.Limit(cfg.RejectTotalRate), cfg.RejectTotalBurst),
		from:     map[netip.Prefix]bool{}}
}

// verdict is what to do with one rejected delivery.
type verdict struct {
	log      bool          // write a callback-log row
	keepBody bool          // with a body excerpt
	wait     time.Duration // when not logged: the source's wait (Retry-After)
}

// take charges one rejection from r's source to the budget.
func (rj *rejections) take(r *http.Request) verdict {
	now := rj.cfg.Now()
	src := source(r)
	rj.mu.Lock()
	defer rj.mu.Unlock()
	rj.roll(now)
	lim := rj.limiter(src, now)
	if !lim.AllowN(now, 1) {
		return rj.drop(src, waitFor(lim, now))
	}
	if !rj.total.AllowN(now, 1) {
		return rj.drop(src, waitFor(rj.total, now))
	}
	v := verdict{log: true, keepBody: rj.bodies < rj.cfg.RejectBodies}
	if v.keepBody {
		rj.bodies++
	}
	return v
}

func (rj *rejections) drop(src netip.Prefix, wait time.Duration) verdict {
	rj.dropped++
	if len(rj.from) < 1000 {
		rj.from[src] = true
	}
	return verdict{wait: wait}
}

// roll starts a new window when the current one is over, logging how many
// rejections went unlogged in it.
func (rj *rejections) roll(now time.Time) {
	if now.Sub(rj.window) < rj.cfg.RejectWindow {
		return
	}
	if rj.dropped > 0 {
		rj.log.Warn("rejected callbacks over budget: counted, not logged", "count", rj.dropped,
			"sources", len(rj.from), "window", rj.cfg.RejectWindow)
	}
	rj.window, rj.bodies, rj.dropped = now, 0, 0
	clear(rj.from)
}

// summarize logs the unlogged rejections of each window once it is over,
// even when no rejection follows it, until ctx ends; stop waits for it.
func (rj *rejections) summarize(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(rj.cfg.RejectWindow)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				rj.mu.Lock()
				rj.roll(rj.cfg.Now())
				rj.mu.Unlock()
			}
		}
	}()
	return func() { <-done }
}

// limiter returns src's limiter, making room in a full map by dropping
// sources whose budget is whole again (they owe nothing); when none can
// go, src shares the overflow limiter.
func (rj *rejections) limiter(src netip.Prefix, now time.Time) *rate.Limiter {
	if lim, ok := rj.sources[src]; ok {
		return lim
	}
	if len(rj.sources) >= rj.cfg.RejectSources {
		for k, lim := range rj.sources {
			if lim.TokensAt(now) >= float64(rj.cfg.RejectBurst) {
				delete(rj.sources, k)
			}
		}
	}
	if len(rj.sources) >= rj.cfg.RejectSources {
		return rj.overflow
	}
	lim := rate.NewLimiter(rate.Limit(rj.cfg.RejectRate), rj.cfg.RejectBurst)
	rj.sources[src] = lim
	return lim
}

// waitFor is how long until lim has a token again.
func waitFor(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 || lim.Limit() <= 0 {
		return time.Second
	}
	return time.Duration(math.Ceil(missing / float64(lim.Limit()) * float64(time.Second)))
}

// source is the delivery's remote address as a prefix: the IPv4 address,
// or the IPv6 /64 (one host commonly holds a whole /64). Behind a proxy
// that is the proxy's address, which the budget then shares.
func source(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}
