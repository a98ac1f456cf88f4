package store

import (
	"context"
	"errors"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// TokenStore keeps PSA access tokens shared by the processes of one
// account (the daemon and each CLI command), so that they do not each ask
// the PSA's token endpoint for one. Tokens arrive sealed (encrypted with
// a key derived from the credential, helpdesk.TokenSeal): the store never
// sees one in the clear, and nothing here logs or prints them.
type TokenStore interface {
	// AccessToken returns the token stored under key; ErrNotFound when
	// there is none.
	AccessToken(ctx context.Context, s Scope, key string) (helpdesk.CachedToken, error)
	// PutAccessToken stores t under key, replacing what was there.
	PutAccessToken(ctx context.Context, s Scope, key string, t helpdesk.CachedToken) error
}

// TokenCache returns the helpdesk.TokenCache of one account over st, for
// the PSA clients.
func TokenCache(st TokenStore, s Scope) helpdesk.TokenCache { return tokenCache{st, s} }

type tokenCache struct {
	st TokenStore
	s  Scope
}

// LoadToken implements helpdesk.TokenCache.
func (c tokenCache) LoadToken(ctx context.Context, key string) (helpdesk.CachedToken, bool, error) {
	t, err := c.st.AccessToken(ctx, c.s, key)
	if errors.Is(err, ErrNotFound) {
		return helpdesk.CachedToken{}, false, nil
	}
	return t, err == nil, err
}

// SaveToken implements helpdesk.TokenCache.
func (c tokenCache) SaveToken(ctx context.Context, key string, t helpdesk.CachedToken) error {
	return c.st.PutAccessToken(ctx, c.s, key, t)
}
