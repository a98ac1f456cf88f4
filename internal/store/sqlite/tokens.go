package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// AccessToken returns the sealed token stored under key.
func (s *Store) AccessToken(ctx context.Context, sc store.Scope, key string) (helpdesk.CachedToken, error) {
	var t helpdesk.CachedToken
	var exp tsScan
	err := s.r.QueryRowContext(ctx, `SELECT sealed, expires_at FROM access_tokens
WHERE account = ? AND provider = ? AND key = ?`, scope(sc, key)...).Scan(&t.Sealed, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("sqlite: access token: %w", err)
	}
	t.Expiry = exp.Time()
	return t, nil
}

// PutAccessToken stores a sealed token under key.
func (s *Store) PutAccessToken(ctx context.Context, sc store.Scope, key string, t helpdesk.CachedToken) error {
	_, err := s.wexec(ctx, `INSERT INTO access_tokens (account, provider, key, sealed, expires_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (account, provider, key) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at`,
		scope(sc, key, t.Sealed, ts(t.Expiry))...)
	if err != nil {
		return fmt.Errorf("sqlite: put access token: %w", err)
	}
	return nil
}
