package helpdesk

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
)

// TokenCache shares OAuth access tokens between the processes of one
// account (the daemon and each CLI command), so that every process does
// not ask the PSA's token endpoint for its own: Zoho Accounts issues at
// most ten access tokens per refresh token in ten minutes and blocks the
// account past that. The store implements it. Keys name a credential
// without containing it; values are sealed by TokenSeal before they reach
// a TokenCache, so a copy of the database alone yields no usable token.
type TokenCache interface {
	// LoadToken returns the token stored under key; ok is false when
	// there is none.
	LoadToken(ctx context.Context, key string) (t CachedToken, ok bool, err error)
	// SaveToken stores t under key, replacing what was there.
	SaveToken(ctx context.Context, key string, t CachedToken) error
}

// CachedToken is a sealed access token and when it expires.
type CachedToken struct {
	// Sealed is the token encrypted by a TokenSeal (base64).
	Sealed string
	Expiry time.Time
}

// TokenSeal encrypts access tokens for a TokenCache with a key derived
// from the credential that obtained them (AES-256-GCM), and names the
// cache entry of that credential.
type TokenSeal struct {
	key  string
	aead cipher.AEAD
}

// NewTokenSeal returns the seal for one credential: provider, the token
// endpoint, the client id and the secret parts (client secret, refresh
// token). Another credential gets another key and another entry, so a
// rotated secret never picks up a token of the old one.
func NewTokenSeal(provider, endpoint, clientID string, secrets ...Secret) *TokenSeal {
	h := sha256.New()
	for _, s := range append([]string{provider, endpoint, clientID}, revealAll(secrets)...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	keyed := sha256.Sum256(append([]byte("horizon token seal\x00"), sum...))
	block, _ := aes.NewCipher(keyed[:]) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	return &TokenSeal{key: provider + ":" + hex.EncodeToString(sum[:12]), aead: aead}
}

func revealAll(ss []Secret) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Reveal()
	}
	return out
}

// Key is the cache key of the credential: its provider and a hash prefix.
func (s *TokenSeal) Key() string { return s.key }

// Seal encrypts an access token.
func (s *TokenSeal) Seal(token string, expiry time.Time) CachedToken {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(token), []byte(s.key))
	return CachedToken{Sealed: base64.RawStdEncoding.EncodeToString(out), Expiry: expiry}
}

// errSeal is a cached token that does not open with this credential.
var errSeal = errors.New("cached token does not open with this credential")

// Open decrypts a cached token.
func (s *TokenSeal) Open(t CachedToken) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(t.Sealed)
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", errSeal
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(s.key))
	if err != nil {
		return "", errSeal
	}
	return string(plain), nil
}
