package storetest

import (
	"errors"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

var tokenTests = map[string]func(*testing.T, store.Store){
	"PutAndReplace":   testTokenPutReplace,
	"ScopedAndKeyed":  testTokenScoped,
	"CacheForClients": testTokenCache,
}

func testTokenPutReplace(t *testing.T, s store.Store) {
	if _, err := s.AccessToken(ctx(t), Scope, "zohodesk:abc"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AccessToken before any put: %v, want ErrNotFound", err)
	}
	first := helpdesk.CachedToken{Sealed: "c2VhbGVkLTE", Expiry: at(0)}
	noErr(t, "PutAccessToken", s.PutAccessToken(ctx(t), Scope, "zohodesk:abc", first))
	got, err := s.AccessToken(ctx(t), Scope, "zohodesk:abc")
	noErr(t, "AccessToken", err)
	equal(t, "token", got, first)
	second := helpdesk.CachedToken{Sealed: "c2VhbGVkLTI", Expiry: at(3600e9)}
	noErr(t, "PutAccessToken again", s.PutAccessToken(ctx(t), Scope, "zohodesk:abc", second))
	got, err = s.AccessToken(ctx(t), Scope, "zohodesk:abc")
	noErr(t, "AccessToken", err)
	equal(t, "replaced token", got, second)
}

func testTokenScoped(t *testing.T, s store.Store) {
	tok := helpdesk.CachedToken{Sealed: "c2VhbGVk", Expiry: at(0)}
	noErr(t, "PutAccessToken", s.PutAccessToken(ctx(t), Scope, "halopsa:k1", tok))
	if _, err := s.AccessToken(ctx(t), other, "halopsa:k1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account sees the token: %v", err)
	}
	if _, err := s.AccessToken(ctx(t), Scope, "halopsa:k2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another key sees the token: %v", err)
	}
}

// Two clients (two processes) over one store make one grant: the second
// takes the first one's token, which the store keeps sealed.
func testTokenCache(t *testing.T, s store.Store) {
	seal := helpdesk.NewTokenSeal(helpdesk.ZohoDesk, "https://accounts.example/oauth/v2/token", "client", "secret", "refresh")
	a, b := store.TokenCache(s, Scope), store.TokenCache(s, Scope)
	if _, ok, err := a.LoadToken(ctx(t), seal.Key()); ok || err != nil {
		t.Fatalf("empty cache: ok %v, err %v", ok, err)
	}
	noErr(t, "SaveToken", a.SaveToken(ctx(t), seal.Key(), seal.Seal("1000.access.token", at(3600e9))))
	ct, ok, err := b.LoadToken(ctx(t), seal.Key())
	noErr(t, "LoadToken", err)
	if !ok || ct.Sealed == "" || ct.Sealed == "1000.access.token" {
		t.Fatalf("LoadToken = %+v, %v; want the sealed token", ct, ok)
	}
	plain, err := seal.Open(ct)
	noErr(t, "Open", err)
	equal(t, "opened token", plain, "1000.access.token")
	if !ct.Expiry.Equal(at(3600e9)) {
		t.Fatalf("expiry %v, want %v", ct.Expiry, at(3600e9))
	}
}
