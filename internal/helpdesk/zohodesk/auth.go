package zohodesk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/horizon/reconciler/internal/helpdesk"
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

// tokenManager wraps the oauth2 refresh-token source: cached until expiry,
// refreshed on a 401 when the rejected token is the cached one, and its
// errors turned into credential errors.
type tokenManager struct {
	mu       sync.Mutex
	conf     *oauth2.Config
	ctx      context.Context
	refresh  string
	early    time.Duration
	src      oauth2.TokenSource
	current  string          // access token last fetched
	rejected map[string]bool // access tokens the API answered 401 to
}

func newTokenManager(cfg Config, tokenURL string) *tokenManager {
	early := cfg.Tuning.TokenEarlyExpiry
	if early == 0 {
		early = 10 * time.Second
	}
	m := &tokenManager{
		conf: &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(),
			Endpoint: oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}},
		ctx:     context.WithValue(context.Background(), oauth2.HTTPClient, cfg.HTTPClient),
		refresh: cfg.RefreshToken.Reveal(),
		early:   early,
	}
	m.reset()
	return m
}

// reset drops the cached access token; the next call refreshes. The
// caller holds m.mu (or owns m).
func (m *tokenManager) reset() {
	base := m.conf.TokenSource(m.ctx, &oauth2.Token{RefreshToken: m.refresh})
	m.src = oauth2.ReuseTokenSourceWithExpiry(nil, &stampSource{m: m, src: base}, m.early)
	m.rejected = map[string]bool{}
}

// stampSource records each freshly fetched access token.
type stampSource struct {
	m   *tokenManager
	src oauth2.TokenSource
}

// Token implements oauth2.TokenSource.
func (s *stampSource) Token() (*oauth2.Token, error) {
	t, err := s.src.Token()
	if err == nil {
		s.m.mu.Lock()
		s.m.current = t.AccessToken
		s.m.mu.Unlock()
	}
	return t, err
}

// token returns a valid access token or a credential error.
func (m *tokenManager) token(ctx context.Context) (*oauth2.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: "refresh token", Kind: helpdesk.ErrTransient, Err: err}
	}
	m.mu.Lock()
	src := m.src
	m.mu.Unlock()
	t, err := src.Token()
	if err != nil {
		return nil, tokenError(err)
	}
	return t, nil
}

// reject notes that the API refused an access token.
func (m *tokenManager) reject(access string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if access != "" && len(m.rejected) < 64 {
		m.rejected[access] = true
	}
}

// invalidate is the transport's OnUnauthorized hook: it drops the cached
// token when that very token was refused (a 401 INVALID_OAUTH), so that
// concurrent 401s cause one refresh, not one each (Zoho allows 10 tokens
// per refresh token per 10 minutes). The request is then retried once.
func (m *tokenManager) invalidate() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rejected[m.current] {
		m.reset()
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
