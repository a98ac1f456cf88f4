package zohodesk

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// credentialHint names the settings to check when Zoho Accounts refuses
// the grant. It never carries their values.
const credentialHint = "check the helpdesk.zohodesk refreshToken, clientId and clientSecret settings"

// tokenError turns an oauth2 failure into a *helpdesk.Error without any
// credential: grant errors (Zoho answers them with HTTP 200 and
// {"error":"invalid_code"}) are ErrUnauthorized naming the settings to
// check; "Access Denied" (the 10-tokens-per-10-minutes block) is
// ErrRateLimited; 5xx and network failures are ErrTransient.
func tokenError(err error) error {
	e := &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: "refresh token"}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		e.Status = status
		e.Message, e.Kind = grantFailure(status, re.ErrorCode, re.ErrorDescription)
		if re.Response != nil {
			e.RetryAfter = transport.ParseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now())
		}
	case strings.Contains(err.Error(), "missing access_token"):
		e.Kind = helpdesk.ErrUnauthorized
		e.Message = "Zoho Accounts answered without an access token: " + credentialHint
	default:
		e.Kind = helpdesk.ErrTransient
		e.Message = "token endpoint unreachable"
		e.Err = scrubURL(err)
	}
	return e
}

func grantFailure(status int, code, desc string) (message string, kind error) {
	code = strings.TrimSpace(code)
	switch {
	case strings.EqualFold(code, "Access Denied") || strings.Contains(strings.ToLower(desc), "too many requests"):
		return "Zoho Accounts blocked token refresh (at most 10 access tokens per refresh token in 10 minutes); wait and retry", helpdesk.ErrRateLimited
	case status >= 500 || status == http.StatusTooManyRequests:
		return "Zoho Accounts token endpoint failed", helpdesk.KindForStatus(status)
	case code != "":
		return "Zoho Accounts refused the refresh-token grant (" + safeCode(code) + "): " + credentialHint, helpdesk.ErrUnauthorized
	default:
		return "Zoho Accounts refused the refresh-token grant: " + credentialHint, helpdesk.ErrUnauthorized
	}
}

// safeCode keeps an OAuth error code printable and short; codes are
// words like invalid_code, never credentials.
func safeCode(code string) string {
	var b strings.Builder
	for _, r := range code {
		if r == '_' || r == ' ' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// scrubURL drops the URL from a transport error.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(ue.Op + ": " + ue.Err.Error())
	}
	return errors.New("request failed")
}

// Token endpoint retries: a 429 or 5xx from Zoho Accounts is asked again
// up to tokenTries times, waiting Retry-After when it is sent (bounded by
// Tuning.MaxRetryAfter), else a doubling backoff.
const tokenTries = 4

// tokenManager holds the access token of one client: one grant at a time
// (concurrent entity syncs wait for it and share its token or its
// failure), cached until shortly before expiry, shared with other
// processes of the account through an optional helpdesk.TokenCache, and
// dropped on a 401 only when the refused token is the one held.
type tokenManager struct {
	conf    *oauth2.Config
	hc      *http.Client
	refresh string
	early   time.Duration
	maxWait time.Duration
	base    time.Duration
	log     *slog.Logger
	cache   helpdesk.TokenCache
	seal    *helpdesk.TokenSeal
	sleep   func(context.Context, time.Duration) error

	// granting is a one-slot semaphore: the holder asks Zoho Accounts.
	granting chan struct{}

	mu       sync.Mutex
	tok      *oauth2.Token
	rejected map[string]bool // access tokens the API answered 401 to
	failErr  error           // the last grant failure ...
	failAt   time.Time       // ... and when it happened
}

func newTokenManager(cfg Config, tokenURL string) *tokenManager {
	t := cfg.Tuning
	m := &tokenManager{
		conf: &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(),
			Endpoint: oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}},
		hc: cfg.HTTPClient, refresh: cfg.RefreshToken.Reveal(),
		early: durOr(t.TokenEarlyExpiry, 10*time.Second), maxWait: durOr(t.MaxRetryAfter, 2*time.Minute),
		base: durOr(t.BaseBackoff, time.Second), log: cfg.Logger, cache: cfg.TokenCache,
		seal:     helpdesk.NewTokenSeal(helpdesk.ZohoDesk, tokenURL, cfg.ClientID, cfg.ClientSecret, cfg.RefreshToken),
		sleep:    sleepCtx,
		granting: make(chan struct{}, 1),
		rejected: map[string]bool{},
	}
	return m
}

func durOr(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// usable reports whether t can be sent: not expiring within early and not
// refused by the API. The caller holds m.mu.
func (m *tokenManager) usable(t *oauth2.Token) bool {
	return t != nil && t.AccessToken != "" && !m.rejected[t.AccessToken] &&
		(t.Expiry.IsZero() || time.Now().Add(m.early).Before(t.Expiry))
}

func (m *tokenManager) held() *oauth2.Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.usable(m.tok) {
		return m.tok
	}
	return nil
}

// token returns a valid access token or a credential error. Callers that
// wait while another grant runs get that grant's token, or its failure:
// they do not each ask Zoho Accounts again.
func (m *tokenManager) token(ctx context.Context) (*oauth2.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: "refresh token", Kind: helpdesk.ErrTransient, Err: err}
	}
	if t := m.held(); t != nil {
		return t, nil
	}
	asked := time.Now()
	select {
	case m.granting <- struct{}{}:
		defer func() { <-m.granting }()
	case <-ctx.Done():
		return nil, &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: "refresh token", Kind: helpdesk.ErrTransient, Err: ctx.Err()}
	}
	if t := m.held(); t != nil {
		return t, nil
	}
	m.mu.Lock()
	failErr, failAt := m.failErr, m.failAt
	m.mu.Unlock()
	if failErr != nil && (failAt.After(asked) || time.Now().Before(failAt.Add(helpdesk.RetryAfter(failErr)))) {
		// a grant failed while this caller waited, or Zoho asked for a
		// pause that has not passed: asking again would only add to the
		// account's token count
		return nil, failErr
	}
	t, err := m.obtain(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil { // this caller's cancellation is not the grant's failure
			m.failErr, m.failAt = err, time.Now()
		}
		return nil, err
	}
	m.tok, m.failErr = t, nil
	return t, nil
}

// obtain takes the account's shared token when another process left a
// usable one, else asks Zoho Accounts and shares the answer.
func (m *tokenManager) obtain(ctx context.Context) (*oauth2.Token, error) {
	if t := m.shared(ctx); t != nil {
		return t, nil
	}
	t, err := m.grant(ctx)
	if err != nil {
		return nil, err
	}
	if m.cache != nil {
		if err := m.cache.SaveToken(ctx, m.seal.Key(), m.seal.Seal(t.AccessToken, t.Expiry)); err != nil {
			m.log.WarnContext(ctx, "access token not shared with other processes", "provider", helpdesk.ZohoDesk, "err", err)
		}
	}
	return t, nil
}

// shared returns the usable token in the cache, or nil. A cache failure
// costs a grant, never the call.
func (m *tokenManager) shared(ctx context.Context) *oauth2.Token {
	if m.cache == nil {
		return nil
	}
	ct, ok, err := m.cache.LoadToken(ctx, m.seal.Key())
	if err != nil {
		m.log.WarnContext(ctx, "shared access token unreadable", "provider", helpdesk.ZohoDesk, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	access, err := m.seal.Open(ct)
	if err != nil {
		return nil
	}
	t := &oauth2.Token{AccessToken: access, TokenType: "Zoho-oauthtoken", Expiry: ct.Expiry}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.usable(t) {
		return nil
	}
	return t
}

// grant runs the refresh-token grant, retrying throttling and outages of
// the token endpoint as data calls are retried.
func (m *tokenManager) grant(ctx context.Context) (*oauth2.Token, error) {
	hctx := context.WithValue(ctx, oauth2.HTTPClient, m.hc)
	for try := 1; ; try++ {
		t, err := m.conf.TokenSource(hctx, &oauth2.Token{RefreshToken: m.refresh}).Token()
		if err == nil {
			return t, nil
		}
		e := tokenError(err)
		wait, again := m.retryWait(err, try)
		if !again || try == tokenTries || ctx.Err() != nil {
			return nil, e
		}
		m.log.InfoContext(ctx, "psa token retry", "provider", helpdesk.ZohoDesk, "attempt", try, "wait", wait, "err", e)
		if m.sleep(ctx, wait) != nil {
			return nil, e
		}
	}
}

// retryWait says whether a failed grant is worth asking again and after
// how long: 429 and 5xx answers and network failures are, for
// Retry-After when sent and not beyond maxWait; refused grants are not.
// Zoho's "Access Denied" block is retried only when it names a wait.
func (m *tokenManager) retryWait(err error, try int) (time.Duration, bool) {
	backoff := min(m.base<<(try-1), 30*time.Second)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return backoff, !strings.Contains(err.Error(), "missing access_token")
	}
	if re.Response == nil {
		return 0, false
	}
	ra := transport.ParseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now())
	status := re.Response.StatusCode
	switch {
	case ra > m.maxWait:
		return 0, false
	case ra > 0:
		return ra, true
	case status == http.StatusTooManyRequests || status >= 500:
		return backoff, true
	}
	return 0, false
}

// reject notes that the API refused an access token.
func (m *tokenManager) reject(access string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if access != "" && len(m.rejected) < 64 {
		m.rejected[access] = true
	}
}

// invalidate is the transport's OnUnauthorized hook: it drops the held
// token when that very token was refused (a 401 INVALID_OAUTH), so that
// concurrent 401s cause one refresh, not one each (Zoho allows 10 tokens
// per refresh token per 10 minutes). The request is then retried once.
func (m *tokenManager) invalidate() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok != nil && m.rejected[m.tok.AccessToken] {
		m.tok = nil
	}
	return true
}

// spyTransport tells the token manager which access token a 401 refused.
type spyTransport struct {
	base http.RoundTripper
	m    *tokenManager
}

// RoundTrip implements http.RoundTripper.
func (s *spyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.base.RoundTrip(r)
	if err == nil && res.StatusCode == http.StatusUnauthorized {
		s.m.reject(strings.TrimPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken "))
	}
	return res, err
}

// spyClient returns a copy of hc whose transport reports 401s to m.
func spyClient(hc *http.Client, m *tokenManager) *http.Client {
	c := *hc
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &spyTransport{base: base, m: m}
	return &c
}
