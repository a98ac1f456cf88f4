// Package transport is the HTTP layer every PSA client shares: one
// http.Client with timeouts, a client-side rate limiter, a concurrency cap,
// retries with exponential backoff and full jitter for 429, 5xx, timeouts
// and broken bodies (honouring Retry-After), none for other 4xx, a bound
// on the size of a response, request metrics, a log line at info level
// for every wait before a retry, and errors that never carry a
// credential. It knows nothing of any PSA's wire format: providers pass
// hooks to read their error bodies.
package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
)

// DefaultMaxResponseBytes bounds a response body unless
// Config.MaxResponseBytes says otherwise. A full page of the largest
// records Horizon reads (1,000 ConnectWise tickets) is a few MiB; a body
// over the bound is refused rather than held in memory, so that one
// hostile page cannot take the process past its memory limit.
const DefaultMaxResponseBytes = 32 << 20

// TooLargeError is a response whose body was over the bound. It is not
// retried: the same request would get the same body.
type TooLargeError struct {
	Limit int64
}

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("response body larger than the limit of %s", FormatBytes(e.Limit))
}

// FormatBytes prints n in MiB or KiB when it is a whole number of them.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	// Provider names the PSA in errors, logs and metric labels.
	Provider string
	// HTTPClient sends requests; default: 30 s timeout.
	HTTPClient *http.Client
	// RatePerSecond and Burst set the client-side limiter; 0 means no
	// limit.
	RatePerSecond float64
	Burst         int
	// MaxConcurrent caps requests in flight (Autotask allows 3); 0 means
	// no cap.
	MaxConcurrent int
	// MaxAttempts bounds tries of one request; default 6.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape exponential backoff; defaults
	// 250 ms and 30 s. MaxRetryAfter caps a server-requested wait
	// (default 2 m): a longer one is returned to the caller as an error.
	BaseBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// MaxResponseBytes bounds a response body; default
	// DefaultMaxResponseBytes. A longer body is a *TooLargeError.
	MaxResponseBytes int64
	// Metrics records requests; nil records nothing.
	Metrics *metrics.Metrics
	// Logger logs each wait before a retry at info level (a run slowed
	// by minutes of Retry-After must say so); default slog.Default().
	Logger *slog.Logger
	// ErrorMessage extracts the provider's message from an error body;
	// default: the body's first 200 bytes. It must not return secrets.
	ErrorMessage func(status int, body []byte) string
	// Classify, when set, may override the error kind of a response
	// (for PSAs that signal throttling on another status). Return nil to
	// keep the default mapping.
	Classify func(status int, header http.Header, body []byte) error
	// OnUnauthorized is called once per request on a 401; when it
	// returns true (credentials were refreshed), the request is retried.
	OnUnauthorized func() bool
	// Reserve, when set, holds back the requests of backfills while only
	// the reserve of the PSA's allowance is left.
	Reserve *Reserve
	// Remaining, when set, reads what is left of the allowance from a
	// response's headers (Zoho Desk's X-Rate-Limit-Remaining-v3); ok is
	// false when the response does not say.
	Remaining func(h http.Header) (left int, ok bool)
}

// Client sends PSA requests.
type Client struct {
	cfg     Config
	limiter *rate.Limiter
	sem     chan struct{}
	sleep   func(context.Context, time.Duration) error
	clock   serverClock
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	c := &Client{cfg: cfg, sleep: sleepCtx}
	if cfg.RatePerSecond > 0 {
		burst := max(cfg.Burst, 1)
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerSecond), burst)
	}
	if cfg.MaxConcurrent > 0 {
		c.sem = make(chan struct{}, cfg.MaxConcurrent)
	}
	return c
}

// SetSleep replaces the backoff sleep (tests make it instant).
func (c *Client) SetSleep(f func(context.Context, time.Duration) error) { c.sleep = f }

// RequestFunc builds a fresh request for each attempt, so bodies are
// re-sent intact.
type RequestFunc func(ctx context.Context) (*http.Request, error)

// Response is a completed exchange with its whole body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends the request, retrying what is worth retrying, and returns the
// first 2xx response. A non-2xx final answer is a *helpdesk.Error with the
// provider's message.
func (c *Client) Do(ctx context.Context, op string, build RequestFunc) (*Response, error) {
	return c.do(ctx, op, build, nil)
}

// DoJSON is Do followed by decoding the body into out; a body that does not
// decode (truncated, garbled) is retried like a transient failure.
func (c *Client) DoJSON(ctx context.Context, op string, build RequestFunc, out any) (*Response, error) {
	return c.do(ctx, op, build, func(r *Response) error {
		if out == nil || len(r.Body) == 0 {
			return nil
		}
		return json.Unmarshal(r.Body, out)
	})
}

// DoDecode is Do followed by decode on the 2xx body. An error from decode
// (a listing answered with an empty body, null or HTML) is retried like a
// transient failure and, when the tries are spent, returned.
func (c *Client) DoDecode(ctx context.Context, op string, build RequestFunc, decode func(body []byte) error) (*Response, error) {
	return c.do(ctx, op, build, func(r *Response) error { return decode(r.Body) })
}

// DoDecodeStatus is DoDecode for a decode that needs the status as well
// as the body: Zoho Desk answers an empty list 204 with no body, where a
// 200 with no body is a broken answer.
func (c *Client) DoDecodeStatus(ctx context.Context, op string, build RequestFunc, decode func(status int, body []byte) error) (*Response, error) {
	return c.do(ctx, op, build, func(r *Response) error { return decode(r.Status, r.Body) })
}

func (c *Client) do(ctx context.Context, op string, build RequestFunc, decode func(*Response) error) (*Response, error) {
	refreshed := false
	var last error
	for attempt := 1; attempt <= c.cfg.MaxAttempts; attempt++ {
		resp, err := c.once(ctx, op, build)
		if err == nil && decode != nil {
			if derr := decode(resp); derr != nil {
				err = c.errorf(op, helpdesk.ErrTransient, resp.Status, "", fmt.Errorf("decode response: %w", derr))
			}
		}
		if err == nil {
			return resp, nil
		}
		last = err
		if ctx.Err() != nil {
			return nil, err
		}
		if errors.Is(err, helpdesk.ErrUnauthorized) && !refreshed && c.cfg.OnUnauthorized != nil && c.cfg.OnUnauthorized() {
			refreshed = true
			attempt--
			continue
		}
		var tooLarge *TooLargeError
		if !helpdesk.Retryable(err) || errors.As(err, &tooLarge) || attempt == c.cfg.MaxAttempts || !retrySafe(ctx, err) {
			break
		}
		wait := c.backoff(attempt)
		if ra := helpdesk.RetryAfter(err); ra > 0 {
			if ra > c.cfg.MaxRetryAfter {
				return nil, err
			}
			wait = ra
		}
		c.cfg.Logger.InfoContext(ctx, "psa request retry", "provider", c.cfg.Provider, "op", op,
			"cause", cause(err), "wait", wait, "attempt", attempt, "max_attempts", c.cfg.MaxAttempts)
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, err
		}
	}
	return nil, last
}

// backoff is exponential with full jitter.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BaseBackoff << (attempt - 1)
	if d <= 0 || d > c.cfg.MaxBackoff {
		d = c.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) once(ctx context.Context, op string, build RequestFunc) (*Response, error) {
	if err := c.hold(ctx, op); err != nil {
		return nil, err
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, c.errorf(op, helpdesk.ErrNotSent, 0, "", err)
		}
	}
	if c.sem != nil {
		select {
		case c.sem <- struct{}{}:
			defer func() { <-c.sem }()
		case <-ctx.Done():
			return nil, c.errorf(op, helpdesk.ErrNotSent, 0, "", ctx.Err())
		}
	}
	req, err := build(ctx)
	if errors.Is(err, helpdesk.ErrNotSent) {
		return nil, err // a provider's own limiter, waited for in build
	}
	if err != nil {
		return nil, c.errorf(op, helpdesk.ErrInvalid, 0, "", fmt.Errorf("build request: %w", err))
	}
	start := time.Now()
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		c.observe(op, "error", start)
		c.count(ctx, nil)
		return nil, c.errorf(op, helpdesk.ErrTransient, 0, "", scrub(err))
	}
	c.count(ctx, res.Header)
	c.clock.note(res.Header, time.Now())
	body, err := readBody(res, c.cfg.MaxResponseBytes)
	res.Body.Close()
	c.observe(op, strconv.Itoa(res.StatusCode), start)
	var tooLarge *TooLargeError
	if errors.As(err, &tooLarge) {
		return nil, c.errorf(op, helpdesk.ErrTransient, res.StatusCode, "", err)
	}
	if err != nil {
		return nil, c.errorf(op, helpdesk.ErrTransient, res.StatusCode, "", fmt.Errorf("read body: %w", err))
	}
	out := &Response{Status: res.StatusCode, Header: res.Header, Body: body}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return out, nil
	}
	return nil, c.statusError(op, out)
}

// readBody reads a body of at most limit bytes. It sizes its buffer from
// Content-Length when the server sent one within the bound (growing a
// buffer by doubling would hold up to twice the body), and stops reading
// at limit+1 bytes.
func readBody(res *http.Response, limit int64) ([]byte, error) {
	if res.ContentLength > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	var buf bytes.Buffer
	if res.ContentLength > 0 {
		buf.Grow(int(res.ContentLength) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(res.Body, limit+1))
	if n > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// cause names why a request is retried, for the log: the error's kind and
// status, and the provider's message or the transport failure. Errors
// here never carry a URL or a credential (see scrub).
func cause(err error) string {
	var e *helpdesk.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	return e.Error()
}

func (c *Client) statusError(op string, r *Response) error {
	kind := helpdesk.KindForStatus(r.Status)
	if c.cfg.Classify != nil {
		if k := c.cfg.Classify(r.Status, r.Header, r.Body); k != nil {
			kind = k
		}
	}
	msg := ""
	if c.cfg.ErrorMessage != nil {
		msg = c.cfg.ErrorMessage(r.Status, r.Body)
	} else {
		msg = excerpt(r.Body)
	}
	e := &helpdesk.Error{Provider: c.cfg.Provider, Op: op, Kind: kind, Status: r.Status, Message: msg}
	if errors.Is(kind, helpdesk.ErrRateLimited) {
		e.RetryAfter = ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
		if c.cfg.Metrics != nil {
			c.cfg.Metrics.PSARateLimited.WithLabelValues(c.cfg.Provider).Inc()
		}
	}
	return e
}

func (c *Client) observe(op, code string, start time.Time) {
	if c.cfg.Metrics == nil {
		return
	}
	c.cfg.Metrics.PSARequests.WithLabelValues(c.cfg.Provider, op, code).Inc()
	c.cfg.Metrics.PSARequestDuration.WithLabelValues(c.cfg.Provider, op).Observe(time.Since(start).Seconds())
}

func (c *Client) errorf(op string, kind error, status int, msg string, err error) error {
	return &helpdesk.Error{Provider: c.cfg.Provider, Op: op, Kind: kind, Status: status, Message: msg, Err: err}
}

// ParseRetryAfter reads a Retry-After header: delta seconds or an HTTP
// date. It returns zero when absent or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// scrub drops the URL from a transport error: query strings may carry
// user names or tokens.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("%s: timeout: %w", ue.Op, ue.Err)
		}
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func excerpt(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
