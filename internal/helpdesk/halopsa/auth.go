package halopsa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// tokenCache holds the client-credentials access token until it expires
// (less oauth2's ten-second margin) or the API answers 401. Fetches are
// serialised, so concurrent callers share one token request. With a
// helpdesk.TokenCache (the store), the token is shared with the account's
// other processes: a process takes a live token another one obtained
// before asking Halo for its own.
type tokenCache struct {
	conf clientcredentials.Config
	hc   *http.Client
	mu   sync.Mutex
	tok  *oauth2.Token
	// failed is set while the last token request failed: a 401 then
	// means no token, and refreshing again would not help.
	failed bool
	// shared and seal reach the account's shared token (nil: none).
	shared helpdesk.TokenCache
	seal   *helpdesk.TokenSeal
	log    *slog.Logger
	// refused is the last token the API answered 401 to: never taken
	// from the shared cache again.
	refused string
}

func newTokenCache(cfg Config, tokenURL string) *tokenCache {
	return &tokenCache{
		conf: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret.Reveal(),
			TokenURL:     tokenURL,
			Scopes:       []string{cfg.Scope},
			AuthStyle:    oauth2.AuthStyleInParams,
		},
		hc:     cfg.HTTPClient,
		shared: cfg.TokenCache,
		seal:   helpdesk.NewTokenSeal(helpdesk.HaloPSA, tokenURL, cfg.ClientID, cfg.ClientSecret),
		log:    cfg.Logger,
	}
}

// token returns a valid access token, fetching one when none is cached.
// A failure is a *tokenError carrying a *helpdesk.Error.
func (t *tokenCache) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.Valid() {
		return t.tok.AccessToken, nil
	}
	if tok := t.load(ctx); tok != nil {
		t.tok, t.failed = tok, false
		return tok.AccessToken, nil
	}
	tok, err := t.conf.Token(context.WithValue(ctx, oauth2.HTTPClient, t.hc))
	if err != nil {
		t.failed = true
		return "", &tokenError{e: classifyTokenError(ctx, err)}
	}
	t.tok, t.failed = tok, false
	t.save(ctx, tok)
	return tok.AccessToken, nil
}

// load returns the live shared token, or nil. A cache failure costs a
// token request, never the call.
func (t *tokenCache) load(ctx context.Context) *oauth2.Token {
	if t.shared == nil {
		return nil
	}
	ct, ok, err := t.shared.LoadToken(ctx, t.seal.Key())
	if err != nil {
		t.log.WarnContext(ctx, "shared access token unreadable", "provider", helpdesk.HaloPSA, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	access, err := t.seal.Open(ct)
	tok := &oauth2.Token{AccessToken: access, TokenType: "Bearer", Expiry: ct.Expiry}
	if err != nil || access == t.refused || !tok.Valid() {
		return nil
	}
	return tok
}

func (t *tokenCache) save(ctx context.Context, tok *oauth2.Token) {
	if t.shared == nil {
		return
	}
	if err := t.shared.SaveToken(ctx, t.seal.Key(), t.seal.Seal(tok.AccessToken, tok.Expiry)); err != nil {
		t.log.WarnContext(ctx, "access token not shared with other processes", "provider", helpdesk.HaloPSA, "err", err)
	}
}

// invalidate drops the cached token so that the next request fetches a
// new one; it is the transport's OnUnauthorized hook. It returns false
// when the token request itself was refused, so that a rejected
// credential is not tried twice (a transient token failure is still
// retried, as the transport retries transient errors).
func (t *tokenCache) invalidate() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil {
		t.refused = t.tok.AccessToken
	}
	t.tok = nil
	return !t.failed
}

// tokenError carries a token failure through the transport, which wraps
// request-building errors, so that call can return it unchanged.
type tokenError struct{ e *helpdesk.Error }

// Error implements error.
func (e *tokenError) Error() string { return e.e.Error() }

// Unwrap exposes the helpdesk.Error.
func (e *tokenError) Unwrap() error { return e.e }

// credentialHint names the settings to check after a rejected token
// request or a rejected token.
const credentialHint = "check helpdesk.halopsa.clientId and clientSecret (and tenant on hosted instances)"

// classifyTokenError turns an oauth2 failure into a helpdesk.Error that
// names the credential to check. The oauth2 error text is not kept: it
// quotes the whole response body.
func classifyTokenError(ctx context.Context, err error) *helpdesk.Error {
	e := &helpdesk.Error{Provider: helpdesk.HaloPSA, Op: "token"}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.Response != nil:
		e.Status = re.Response.StatusCode
		e.Kind = helpdesk.KindForStatus(e.Status)
		code := re.ErrorCode
		if code == "" {
			code = excerpt(re.Body, 80)
		}
		e.Message = fmt.Sprintf("token request rejected: %s", code)
	case ctx.Err() != nil:
		e.Kind, e.Err = helpdesk.ErrTransient, ctx.Err()
		return e
	default:
		e.Kind = helpdesk.ErrTransient
		e.Message = "token request failed: " + scrubURL(err)
	}
	if !helpdesk.Retryable(e) {
		e.Kind = helpdesk.ErrUnauthorized
		e.Message += "; " + credentialHint
	}
	return e
}
