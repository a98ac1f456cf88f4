package halopsa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"mime"
	"net/http"
	"strings"
	"time"
)

// allowedScopes are the scopes the emulated API application may ask for.
var allowedScopes = map[string]bool{"all": true, "read:tickets": true, "edit:tickets": true,
	"read:customers": true, "read:agents": true}

// token serves POST /auth/token: the client-credentials grant with the
// credentials in the form body (not in a Basic header) and, on hosted
// instances, ?tenant= in the query.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	if !s.set.OnPremise && r.URL.Query().Get("tenant") != s.set.Tenant {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if code, status := s.checkGrant(r); code != "" {
		writeOAuthError(w, status, code)
		return
	}
	tok, life := s.issue()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "access_token": tok,
		"expires_in": int(life / time.Second), "scope": r.PostForm.Get("scope")})
}

// checkGrant returns the OAuth error code and status for a bad grant, ""
// for a good one.
func (s *Server) checkGrant(r *http.Request) (string, int) {
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		return "unsupported_grant_type", http.StatusBadRequest
	}
	idOK := subtle.ConstantTimeCompare([]byte(f.Get("client_id")), []byte(s.set.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(s.set.ClientSecret))
	if idOK&secretOK != 1 {
		return "invalid_client", http.StatusUnauthorized
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		return "invalid_scope", http.StatusBadRequest
	}
	for _, sc := range scopes {
		if !allowedScopes[sc] {
			return "invalid_scope", http.StatusBadRequest
		}
	}
	return "", 0
}

func (s *Server) issue() (string, time.Duration) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = s.world.Now().Add(s.set.TokenLifetime)
	return tok, s.set.TokenLifetime
}

func writeOAuthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

// authorized checks the bearer token against the issued ones and their
// expiry on the World's clock.
func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && s.world.Now().Before(exp)
}

// authInfo serves GET /api/authinfo, the discovery document.
func (s *Server) authInfo(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out := map[string]string{"auth_url": scheme + "://" + r.Host + "/auth"}
	if !s.set.OnPremise {
		out["tenant_id"] = s.set.Tenant
	}
	writeJSON(w, http.StatusOK, out)
}

// RevokeTokens forgets every issued token, as an expiry or a rotated
// secret would: the next API call answers 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]time.Time{}
}

// TokensIssued returns how many token requests succeeded and are still
// remembered.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}
