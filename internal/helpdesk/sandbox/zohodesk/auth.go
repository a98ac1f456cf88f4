package zohodesk

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tokenStore issues and checks access tokens.
type tokenStore struct {
	opt    Options
	mu     sync.Mutex
	access map[string]time.Time // token → expiry
	issued []time.Time          // issue times, for the per-window limit
	total  int
	asked  int // token requests received
	// throttle token requests still to answer 429, with retryAfter.
	throttle   int
	retryAfter time.Duration
	codeUsed   bool
}

// ThrottleTokens answers the next n token requests 429
// TOO_MANY_REQUESTS, with Retry-After when retryAfter is positive, as
// Zoho Accounts does under load.
func (e *Emulator) ThrottleTokens(n int, retryAfter time.Duration) {
	e.tokens.mu.Lock()
	defer e.tokens.mu.Unlock()
	e.tokens.throttle, e.tokens.retryAfter = n, retryAfter
}

// TokenRequests returns how many requests reached the token endpoint.
func (e *Emulator) TokenRequests() int {
	e.tokens.mu.Lock()
	defer e.tokens.mu.Unlock()
	return e.tokens.asked
}

// throttled counts a token request and says whether to answer it 429.
func (s *tokenStore) throttled() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if s.throttle <= 0 {
		return 0, false
	}
	s.throttle--
	return s.retryAfter, true
}

func newTokenStore(o Options) *tokenStore {
	return &tokenStore{opt: o, access: map[string]time.Time{}}
}

// grant issues a token, or says why not: "" and a reason code.
func (s *tokenStore) grant() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Clock()
	recent := s.issued[:0]
	for _, t := range s.issued {
		if now.Sub(t) < s.opt.TokenWindow {
			recent = append(recent, t)
		}
	}
	s.issued = recent
	if len(s.issued) >= s.opt.TokenLimit {
		return "", false
	}
	tok := "1000." + randHex(16) + "." + randHex(16)
	s.access[tok] = now.Add(s.opt.TokenLifetime)
	s.issued = append(s.issued, now)
	s.total++
	return tok, true
}

func (s *tokenStore) valid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.access[tok]
	return ok && s.opt.Clock().Before(exp)
}

func (s *tokenStore) revokeAccess() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access = map[string]time.Time{}
}

func (s *tokenStore) issuedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handleToken serves POST /oauth/v2/token. Parameters may come in the
// query string or a form body. Grant errors are HTTP 200 with
// {"error":...}, as Zoho Accounts answers them.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	if ra, ok := e.tokens.throttled(); ok {
		if ra > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
		}
		writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "Too many requests. Please try again after some time.")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_request"})
		return
	}
	p := r.Form
	if p.Get("grant_type") == "authorization_code" {
		e.handleCodeGrant(w, p)
		return
	}
	switch {
	case p.Get("grant_type") != "refresh_token":
		writeJSON(w, http.StatusOK, map[string]string{"error": "unsupported_grant_type"})
	case p.Get("client_id") != e.opt.ClientID:
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_client"})
	case p.Get("client_secret") != e.opt.ClientSecret:
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_client_secret"})
	case p.Get("refresh_token") != e.opt.RefreshToken:
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_code"})
	default:
		e.issueToken(w)
	}
}

func (e *Emulator) issueToken(w http.ResponseWriter) {
	tok, ok := e.tokens.grant()
	if !ok {
		writeJSON(w, e.opt.AccessDeniedStatus, map[string]string{"error": "Access Denied",
			"error_description": "You have made too many requests continuously. Please try again after some time.",
			"status":            "failure"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "expires_in": int(e.opt.TokenLifetime / time.Second),
		"api_domain": "https://www.zohoapis.com", "token_type": "Bearer",
	})
}

// authenticate checks the token and the org; it answers failures itself
// and returns false.
func (e *Emulator) authenticate(w http.ResponseWriter, r *http.Request, needOrg bool) bool {
	tok, ok := bearer(r.Header.Get("Authorization"))
	if !ok || !e.tokens.valid(tok) {
		writeError(w, http.StatusUnauthorized, "INVALID_OAUTH", "The OAuth Token you provided is invalid.")
		return false
	}
	if needOrg {
		org := r.Header.Get("orgId")
		if org == "" {
			org = r.URL.Query().Get("orgId")
		}
		switch {
		case org == "":
			writeError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "The value passed for field 'orgId' is missing.")
			return false
		case org != e.opt.OrgID:
			writeError(w, http.StatusForbidden, "OAUTH_ORG_MISMATCH", "The OAuth token does not belong to the organization passed in orgId.")
			return false
		}
	}
	e.mu.Lock()
	e.calls++
	e.mu.Unlock()
	return true
}

// bearer reads "Zoho-oauthtoken <t>" (documented) or "Bearer <t>"
// (accepted too).
func bearer(h string) (string, bool) {
	for _, scheme := range []string{"Zoho-oauthtoken ", "Bearer "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):]), true
		}
	}
	return "", false
}

// handleCodeGrant serves the authorization-code grant: the code
// Options.GrantCode (once), the client's credentials and a redirect_uri
// give an access token and the refresh token. Errors are HTTP 200 with
// {"error":...}, as for the refresh grant.
func (e *Emulator) handleCodeGrant(w http.ResponseWriter, p url.Values) {
	switch {
	case p.Get("client_id") != e.opt.ClientID:
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_client"})
	case p.Get("client_secret") != e.opt.ClientSecret:
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_client_secret"})
	case p.Get("redirect_uri") == "":
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_redirect_uri"})
	case !e.tokens.useCode(p.Get("code"), e.opt.GrantCode):
		writeJSON(w, http.StatusOK, map[string]string{"error": "invalid_code"})
	default:
		tok, ok := e.tokens.grant()
		if !ok {
			writeJSON(w, http.StatusOK, map[string]string{"error": "Access Denied"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "refresh_token": e.opt.RefreshToken,
			"expires_in": int(e.opt.TokenLifetime / time.Second), "api_domain": "https://www.zohoapis.com",
			"token_type": "Bearer"})
	}
}

// useCode accepts the grant code once.
func (s *tokenStore) useCode(code, want string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" || code != want || s.codeUsed {
		return false
	}
	s.codeUsed = true
	return true
}
