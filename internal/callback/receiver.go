package callback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
)

// Defaults for the Config fields left zero.
const (
	DefaultMaxBody         = 1 << 20
	DefaultReplayTolerance = time.Hour
	DefaultAckTimeout      = 4 * time.Second
	DefaultBatchSize       = 256
	DefaultPayloadLimit    = 16 << 10
	DefaultSecretGrace     = 15 * time.Minute
)

// rejectedExcerpt bounds the body kept for a rejected delivery: it is
// unauthenticated input, so it may not cost the log more than this.
const rejectedExcerpt = 1 << 10

// Config configures a Receiver. Scope, Provider and Store are required;
// zero durations and sizes take the defaults above.
type Config struct {
	// Scope keys the callback-log rows; Scope.Provider is also the
	// {provider} path segment the receiver answers to.
	Scope    store.Scope
	Provider helpdesk.Provider
	Store    store.Store
	// Secret is the callback secret horizon.yaml declares; the provider
	// checks deliveries against it. SetSecret rotates it.
	Secret helpdesk.Secret
	// PreviousSecret, when set, is also accepted for SecretGrace after
	// NewReceiver: a receiver rebuilt for a config whose secret changed
	// keeps accepting deliveries the PSA sent with the old one.
	PreviousSecret helpdesk.Secret
	// APIUser is the helpdesk member Horizon writes as, when known: an
	// event whose Actor it is, is an echo of Horizon's own write and is
	// logged processed without a fetch.
	APIUser string
	Metrics *metrics.Metrics // nil: no metrics
	Logger  *slog.Logger     // nil: slog.Default()

	// MaxBody bounds a delivery's body (413 beyond). Default 1 MiB.
	MaxBody int64
	// ReplayTolerance rejects events whose provider-reported time is older
	// than this (Autotask EventTime, Zoho Desk eventTime, Halo timestamp;
	// ConnectWise carries none). Default 1h; negative disables the check.
	ReplayTolerance time.Duration
	// AckTimeout bounds verification plus the durable write of one
	// delivery; past it the delivery is answered 503 (PSAs give up after
	// 5 to 10 s). Default 4 s.
	AckTimeout time.Duration
	// BatchSize is the most rows one group commit gathers. Default 256.
	BatchSize int
	// BatchDelay is how long a committer waits for more deliveries before
	// committing; 0 commits what is waiting at once (batches then form
	// only while a commit is in flight, adding no latency when idle).
	BatchDelay time.Duration
	// Committers is the number of concurrent group commits. Default 1;
	// PostgreSQL can usefully take more.
	Committers int
	// Log, when set, is a group commit shared with other receivers (its
	// owner runs it; BatchSize, BatchDelay and Committers are then its
	// own). Nil: the receiver has one of its own, run by Run.
	Log *Log
	// PayloadLimit bounds the body excerpt kept with a verified
	// delivery's row. Default 16 KiB.
	PayloadLimit int
	// SecretGrace keeps the previous secret valid this long after
	// SetSecret, while the PSA's registration is being updated. Default
	// 15 min.
	SecretGrace time.Duration
	// PreviousUntil, when set, is when PreviousSecret stops being
	// accepted (instead of SecretGrace after NewReceiver): a scheduled
	// rotation's grace runs from the rotation, not from a restart.
	PreviousUntil time.Time

	// The rejection budget (see rejections.go); zero fields take the
	// Default* values.
	RejectRate       float64 // logged rejections per second and source
	RejectBurst      int
	RejectSources    int     // sources tracked one by one
	RejectTotalRate  float64 // logged rejections per second, all sources
	RejectTotalBurst int
	RejectBodies     int           // rejected bodies kept per RejectWindow
	RejectWindow     time.Duration // also the period of the summary log line
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() error {
	if c.Provider == nil || c.Store == nil || c.Scope.Provider == "" {
		return errors.New("callback: config needs Provider, Store and Scope.Provider")
	}
	c.MaxBody = orDefault(c.MaxBody, DefaultMaxBody)
	c.ReplayTolerance = orDefault(c.ReplayTolerance, DefaultReplayTolerance)
	c.AckTimeout = orDefault(c.AckTimeout, DefaultAckTimeout)
	c.BatchSize = orDefault(c.BatchSize, DefaultBatchSize)
	c.Committers = orDefault(c.Committers, 1)
	c.PayloadLimit = orDefault(c.PayloadLimit, DefaultPayloadLimit)
	c.SecretGrace = orDefault(c.SecretGrace, DefaultSecretGrace)
	c.RejectRate = orDefault(c.RejectRate, DefaultRejectRate)
	c.RejectBurst = orDefault(c.RejectBurst, DefaultRejectBurst)
	c.RejectSources = orDefault(c.RejectSources, DefaultRejectSources)
	c.RejectTotalRate = orDefault(c.RejectTotalRate, DefaultRejectTotalRate)
	c.RejectTotalBurst = orDefault(c.RejectTotalBurst, DefaultRejectTotalBurst)
	c.RejectBodies = orDefault(c.RejectBodies, DefaultRejectBodies)
	c.RejectWindow = orDefault(c.RejectWindow, DefaultRejectWindow)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

func orDefault[T int | int64 | float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Receiver is the http.Handler for /callbacks/{provider}. It is safe for
// concurrent use; deliveries are only accepted while Run is running.
type Receiver struct {
	cfg    Config
	log    *slog.Logger
	commit *committer
	ownLog bool

	// closed is closed when Run returns, refusing deliveries to a
	// receiver whose Log is shared and still running.
	closeMu  sync.Mutex
	closed   chan struct{}
	accepted chan struct{}
	secrets  atomic.Pointer[secretSet]
	reject   *rejections
}

// secretSet is the current secret and, during a rotation's grace period,
// the previous one.
type secretSet struct {
	current, previous helpdesk.Secret
	previousUntil     time.Time
}

// NewReceiver returns a Receiver for one account's provider.
func NewReceiver(cfg Config) (*Receiver, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	rc := &Receiver{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "callback", "provider", cfg.Scope.Provider),
		accepted: make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
	if cfg.Log != nil {
		rc.commit = cfg.Log.c
	} else {
		rc.commit, rc.ownLog = newCommitter(cfg.Store, cfg.BatchSize, cfg.BatchDelay, cfg.AckTimeout, cfg.Committers), true
	}
	rc.reject = newRejections(&rc.cfg, rc.log)
	set := &secretSet{current: cfg.Secret}
	if cfg.PreviousSecret != "" && cfg.PreviousSecret != cfg.Secret {
		set.previous, set.previousUntil = cfg.PreviousSecret, cfg.Now().Add(cfg.SecretGrace)
		if !cfg.PreviousUntil.IsZero() {
			set.previousUntil = cfg.PreviousUntil
		}
	}
	rc.secrets.Store(set)
	return rc, nil
}

// Run restores the last-received metric from the log, then commits
// deliveries until ctx ends; the commits in flight finish first. It
// returns nil on a clean stop.
func (rc *Receiver) Run(ctx context.Context) error {
	rc.primeLastReceived(ctx)
	stop := rc.reject.summarize(ctx)
	defer stop()
	rc.closeMu.Lock()
	select {
	case <-rc.closed: // run again after a stop
		rc.closed = make(chan struct{})
	default:
	}
	rc.closeMu.Unlock()
	if rc.ownLog {
		rc.commit.run(ctx)
	} else {
		<-ctx.Done()
	}
	rc.closeMu.Lock()
	close(rc.closed)
	rc.closeMu.Unlock()
	return nil
}

// submit hands a delivery's rows to the group commit.
func (rc *Receiver) submit(ctx context.Context, recs []store.CallbackRecord) (commitResult, error) {
	rc.closeMu.Lock()
	closed := rc.closed
	rc.closeMu.Unlock()
	return rc.commit.submit(ctx, closed, rc.cfg.Scope, recs)
}

// Accepted returns a channel that receives a value (coalesced) whenever
// deliveries have been accepted; hand it to DispatcherConfig.Wake.
func (rc *Receiver) Accepted() <-chan struct{} { return rc.accepted }

// SetSecret rotates the callback secret. The previous one stays valid for
// Config.SecretGrace so that deliveries already on their way pass.
func (rc *Receiver) SetSecret(s helpdesk.Secret) {
	old := rc.secrets.Load()
	if old.current == s {
		return
	}
	next := &secretSet{current: s}
	if old.current != "" {
		next.previous, next.previousUntil = old.current, rc.cfg.Now().Add(rc.cfg.SecretGrace)
	}
	rc.secrets.Store(next)
}

// ServeHTTP handles one delivery: route, method, bounded body, verify,
// parse, durable log, answer. See the package documentation.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(requestProvider(r), rc.cfg.Scope.Provider) {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), rc.cfg.AckTimeout)
	defer cancel()
	if r.Method != http.MethodPost {
		rc.serveOtherMethod(ctx, w, r)
		return
	}
	body, rej := rc.readBody(w, r)
	if rej != nil {
		rc.refuse(ctx, w, r, rej, body)
		return
	}
	if rej := rc.verify(ctx, r, body); rej != nil {
		rc.refuse(ctx, w, r, rej, body)
		return
	}
	events, err := rc.cfg.Provider.ParseCallback(r.Header, body)
	if err != nil {
		rc.refuse(ctx, w, r, asRejection(err, http.StatusBadRequest), body)
		return
	}
	rc.accept(ctx, w, events, body)
}

// requestProvider returns the {provider} path value, or, where the
// handler is mounted without a pattern, the path segment after
// "callbacks" (else the first segment, for a StripPrefix mount).
func requestProvider(r *http.Request) string {
	if p := r.PathValue("provider"); p != "" {
		return p
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "callbacks" {
			return segs[i+1]
		}
	}
	return segs[0]
}

// serveOtherMethod answers Zoho Desk's URL validation GET (sent when a
// webhook is created or its URL changes) with 200, touching nothing, and
// every other non-POST request with 405.
func (rc *Receiver) serveOtherMethod(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && rc.cfg.Scope.Provider == helpdesk.ZohoDesk {
		rc.log.Info("callback URL validation answered", "method", r.Method)
		answer(w, http.StatusOK, "ok")
		return
	}
	w.Header().Set("Allow", http.MethodPost)
	rej := &helpdesk.CallbackError{Status: http.StatusMethodNotAllowed, Reason: "method " + sanitize(r.Method, 16) + " not allowed"}
	rc.refuse(ctx, w, r, rej, nil)
}

// readBody reads the raw body, bounded by MaxBody. A body over the bound
// is a 413 rejection; the part read so far is returned for the log.
func (rc *Receiver) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *helpdesk.CallbackError) {
	tooLarge := &helpdesk.CallbackError{Status: http.StatusRequestEntityTooLarge,
		Reason: fmt.Sprintf("body over %d bytes", rc.cfg.MaxBody)}
	if r.ContentLength > rc.cfg.MaxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.cfg.MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return body, tooLarge
	case err != nil:
		return body, &helpdesk.CallbackError{Status: http.StatusBadRequest, Reason: "read body: connection error"}
	}
	return body, nil
}

// verify has the provider check the delivery against the current secret
// and, during a rotation's grace period, the previous one. An error that
// is not a CallbackError (ConnectWise could not fetch its signing key) is
// a 503, so that the PSA retries.
func (rc *Receiver) verify(ctx context.Context, r *http.Request, body []byte) *helpdesk.CallbackError {
	set := rc.secrets.Load()
	err := rc.cfg.Provider.VerifyCallback(ctx, r, body, set.current)
	if err != nil && set.previous != "" && rc.cfg.Now().Before(set.previousUntil) {
		var ce *helpdesk.CallbackError
		if errors.As(err, &ce) {
			err = rc.cfg.Provider.VerifyCallback(ctx, r, body, set.previous)
		}
	}
	if err == nil {
		return nil
	}
	var ce *helpdesk.CallbackError
	if errors.As(err, &ce) {
		return ce
	}
	rc.log.Warn("callback verification unavailable", "err", err)
	return &helpdesk.CallbackError{Status: http.StatusServiceUnavailable, Reason: "verification unavailable"}
}

// asRejection returns err as a CallbackError, or one with status and
// err's text.
func asRejection(err error, status int) *helpdesk.CallbackError {
	var ce *helpdesk.CallbackError
	if errors.As(err, &ce) {
		return ce
	}
	return &helpdesk.CallbackError{Status: status, Reason: sanitize(err.Error(), 200)}
}

// refuse logs a rejected delivery (best effort: a full or failing log
// does not change the answer) and answers rej.Status with its reason.
// Beyond the rejection budget of its source it is answered 429 and only
// counted (result throttled).
func (rc *Receiver) refuse(ctx context.Context, w http.ResponseWriter, r *http.Request, rej *helpdesk.CallbackError, body []byte) {
	v := rc.reject.take(r)
	if !v.log {
		rc.count("", ResultThrottled, 1)
		w.Header().Set("Retry-After", strconv.Itoa(int(max(v.wait.Round(time.Second), time.Second)/time.Second)))
		answer(w, http.StatusTooManyRequests, ReasonThrottled)
		return
	}
	if !v.keepBody {
		body = nil
	}
	rec := rc.baseRecord(excerpt(body, rejectedExcerpt))
	rec.Result, rec.Reason = store.CallbackRejected, rej.Reason
	if _, err := rc.submit(ctx, []store.CallbackRecord{rec}); err != nil {
		rc.log.Warn("log rejected callback", "err", err)
	}
	rc.count(rec.Event, store.CallbackRejected, 1)
	rc.log.Info("callback rejected", "status", rej.Status, "reason", rej.Reason, "remote", r.RemoteAddr)
	if rej.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	answer(w, rej.Status, rej.Reason)
}

// accept logs a verified delivery's events and answers 200 once they are
// committed (400 when every event was a replay, 503 when the log could
// not be written).
func (rc *Receiver) accept(ctx context.Context, w http.ResponseWriter, events []helpdesk.CallbackEvent, body []byte) {
	recs := rc.eventRecords(events, body)
	res, err := rc.submit(ctx, recs)
	if err != nil {
		rc.count("", "error", 1)
		rc.log.Error("callback not logged; answering 503", "events", len(recs), "err", err)
		w.Header().Set("Retry-After", "5")
		answer(w, http.StatusServiceUnavailable, "callback log unavailable")
		return
	}
	live, fresh := rc.settle(recs, res.dup)
	if live == 0 {
		rc.log.Warn("callback rejected as a replay: check the clocks if the PSA's are right", "reason", recs[0].Reason)
		answer(w, http.StatusBadRequest, recs[0].Reason)
		return
	}
	rc.setLastReceived()
	if fresh > 0 {
		select {
		case rc.accepted <- struct{}{}:
		default:
		}
	}
	answer(w, http.StatusOK, "ok")
}

// settle records the final result of each committed row in the metrics
// and returns how many rows were not rejected and how many await
// dispatch.
func (rc *Receiver) settle(recs []store.CallbackRecord, dup []bool) (live, fresh int) {
	for i := range recs {
		if dup[i] {
			recs[i].Result = store.CallbackDuplicate
		}
		rc.count(recs[i].Event, recs[i].Result, 1)
		switch recs[i].Result {
		case store.CallbackRejected:
		case store.CallbackAccepted:
			live++
			fresh++
		default:
			live++
		}
	}
	return live, fresh
}

// answer writes a short plain-text answer.
func answer(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

func (rc *Receiver) count(event, result string, n int) {
	if rc.cfg.Metrics == nil {
		return
	}
	if event == "" {
		event = "none"
	}
	rc.cfg.Metrics.CallbacksReceived.WithLabelValues(rc.cfg.Scope.Provider, event, result).Add(float64(n))
}

func (rc *Receiver) setLastReceived() {
	if rc.cfg.Metrics != nil {
		rc.cfg.Metrics.CallbackLastReceived.WithLabelValues(rc.cfg.Scope.Provider).Set(float64(rc.cfg.Now().UnixNano()) / 1e9)
	}
}

// primeLastReceived sets the last-received metric from the newest
// verified, non-rejected row in the log, so that a restart does not make
// the feed look silent (or absent) until the next callback.
func (rc *Receiver) primeLastReceived(ctx context.Context) {
	if rc.cfg.Metrics == nil {
		return
	}
	recs, err := rc.cfg.Store.Callbacks(ctx, rc.cfg.Scope, store.CallbackFilter{Limit: 100})
	if err != nil {
		rc.log.Warn("read callback log for the last-received metric", "err", err)
		return
	}
	for _, rec := range recs {
		if rec.Verified && rec.Result != store.CallbackRejected {
			g := rc.cfg.Metrics.CallbackLastReceived.WithLabelValues(rc.cfg.Scope.Provider)
			g.Set(float64(rec.ReceivedAt.UnixNano()) / 1e9)
			return
		}
	}
}
