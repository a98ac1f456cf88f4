package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// AccessToken returns the sealed token stored under key.
func (s *Store) AccessToken(ctx context.Context, sc store.Scope, key string) (helpdesk.CachedToken, error) {
	var t helpdesk.CachedToken
	err := s.pool.QueryRow(ctx, `SELECT sealed, expires_at FROM access_tokens
WHERE account = $1 AND provider = $2 AND key = $3`, sc.Account, sc.Provider, key).Scan(&t.Sealed, &t.Expiry)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("postgres: access token: %w", err)
	}
	t.Expiry = t.Expiry.UTC()
	return t, nil
}

// PutAccessToken stores a sealed token under key.
func (s *Store) PutAccessToken(ctx context.Context, sc store.Scope, key string, t helpdesk.CachedToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO access_tokens (account, provider, key, sealed, expires_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (account, provider, key) DO UPDATE SET sealed = EXCLUDED.sealed, expires_at = EXCLUDED.expires_at`,
		sc.Account, sc.Provider, key, t.Sealed, store.NormalizeTime(t.Expiry))
	if err != nil {
		return fmt.Errorf("postgres: put access token: %w", err)
	}
	return nil
}
