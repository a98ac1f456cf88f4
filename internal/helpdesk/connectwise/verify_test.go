package connectwise_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/connectwise"
)

const hookSecret helpdesk.Secret = "horizon-hook-secret-0123456789"

// keyServer is a hand-written stand-in for CW's key_url endpoint.
type keyServer struct {
	*httptest.Server
	mu      sync.Mutex
	key     string
	status  int
	fetches atomic.Int32
}

func newKeyServer(t *testing.T, key string) *keyServer {
	ks := &keyServer{key: key, status: 200}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		defer ks.mu.Unlock()
		if !strings.HasSuffix(r.URL.Path, "/system/callbackkey/index.rails") || r.Header.Get("clientId") == "" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(ks.status)
		fmt.Fprintf(w, `{"signing_key":%q}`, ks.key)
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) set(key string, status int) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.key, ks.status = key, status
}

// signDoc signs body as the Developer Guide's C# sample does:
// HMACSHA256(key: SHA256(UTF8(sharedSecretKey))) over the payload, base64.
func signDoc(key string, body []byte) string {
	hash := sha256.New()
	hash.Write([]byte(key))
	mac := hmac.New(sha256.New, hash.Sum(nil))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func deliveryBody(keyURL string) []byte {
	return []byte(`{"MessageId":"0f1c6a8e-3c2b-4a59-9b3e-5d2f8a7c1e44","FromUrl":"api-na.myconnectwise.net","CompanyId":"acmemsp",` +
		`"MemberId":"jdoe","Action":"updated","Type":"ticket","ID":4711,"ProductInstanceId":null,"PartnerId":null,` +
		`"Entity":"{\"id\":4711,\"summary\":\"Printer offline (toner)\"}","Metadata":{"key_url":"` + keyURL + `"},"CallbackObjectRecId":312}`)
}

func verifyClient(t *testing.T, base string) *connectwise.Client {
	t.Helper()
	c, err := connectwise.New(connectwise.Config{BaseURL: base, Codebase: "v2025_1/", CompanyID: "acmemsp",
		PublicKey: "pub", PrivateKey: "priv", ClientID: "client", RatePerSecond: -1, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func callbackRequest(token string, body []byte, sig string) *http.Request {
	u := "https://horizon.example/callbacks/connectwise?recordId=4711"
	if token != "" {
		u = "https://horizon.example/callbacks/connectwise?token=" + token + "&recordId=4711"
	}
	r := httptest.NewRequest(http.MethodPost, u, strings.NewReader(string(body)))
	if sig != "" {
		r.Header.Set("X-Content-Signature", sig)
	}
	return r
}

func wantReject(t *testing.T, err error, status int, reason string) {
	t.Helper()
	var ce *helpdesk.CallbackError
	if !errors.As(err, &ce) || ce.Status != status || (reason != "" && ce.Reason != reason) {
		t.Fatalf("err = %v, want %d %q", err, status, reason)
	}
}

func TestVerifyCallback(t *testing.T) {
	ks := newKeyServer(t, "signing-key-1")
	c := verifyClient(t, ks.URL)
	keyURL := ks.URL + "/v2025_1//system/callbackkey/index.rails?companyName=acmemsp&id=7d1e0c55"
	body := deliveryBody(keyURL)
	good := signDoc("signing-key-1", body)
	ctx := context.Background()
	tampered := []byte(strings.Replace(string(body), "4711", "4712", 1))

	tests := []struct {
		name   string
		req    *http.Request
		body   []byte
		status int
		reason string
	}{
		{"known good", callbackRequest(hookSecret.Reveal(), body, good), body, 0, ""},
		{"tampered body", callbackRequest(hookSecret.Reveal(), tampered, good), tampered, 401, "signature mismatch"},
		{"wrong secret", callbackRequest("not-the-secret", body, good), body, 401, "token mismatch"},
		{"missing token", callbackRequest("", body, good), body, 401, "missing token"},
		{"missing header", callbackRequest(hookSecret.Reveal(), body, ""), body, 401, "missing signature header"},
		{"garbage header", callbackRequest(hookSecret.Reveal(), body, "***"), body, 401, "malformed signature header"},
		{"malformed body", callbackRequest(hookSecret.Reveal(), []byte(`{"Metadata":`), good), []byte(`{"Metadata":`), 400, ""},
		{"no key_url", callbackRequest(hookSecret.Reveal(), []byte(`{"ID":1}`), good), []byte(`{"ID":1}`), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.VerifyCallback(ctx, tt.req, tt.body, hookSecret)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			wantReject(t, err, tt.status, tt.reason)
		})
	}
	// One fetch for the first delivery, cached for the others; the
	// tampered body's mismatch re-fetches once (the key may have rotated).
	if n := ks.fetches.Load(); n != 2 {
		t.Errorf("key fetched %d times, want 2", n)
	}
}

func TestVerifyCallbackKeyURLAllowList(t *testing.T) {
	ks := newKeyServer(t, "k")
	evil := newKeyServer(t, "attacker-key")
	c := verifyClient(t, ks.URL)
	for name, keyURL := range map[string]string{
		"other host":               evil.URL + "/v2025_1//system/callbackkey/index.rails?id=1",
		"myconnectwise over http":  "http://na.myconnectwise.net/v2025_1/system/callbackkey/index.rails?id=1",
		"lookalike suffix":         "https://evilmyconnectwise.net/v2025_1/system/callbackkey/index.rails?id=1",
		"userinfo trick":           "https://na.myconnectwise.net@evil.example/x",
		"myconnectwise other port": "https://na.myconnectwise.net:8443/x",
	} {
		t.Run(name, func(t *testing.T) {
			body := deliveryBody(keyURL)
			err := c.VerifyCallback(context.Background(), callbackRequest(hookSecret.Reveal(), body, signDoc("attacker-key", body)), body, hookSecret)
			wantReject(t, err, 401, "key_url host not allowed")
		})
	}
	if evil.fetches.Load() != 0 {
		t.Error("a key was fetched from a host not allowed")
	}
}

func TestVerifyCallbackKeyRotationAndFailures(t *testing.T) {
	ks := newKeyServer(t, "old-key")
	c := verifyClient(t, ks.URL)
	keyURL := ks.URL + "/v2025_1/system/callbackkey/index.rails?companyName=acmemsp&id=1"
	body := deliveryBody(keyURL)
	ctx := context.Background()
	if err := c.VerifyCallback(ctx, callbackRequest(hookSecret.Reveal(), body, signDoc("old-key", body)), body, hookSecret); err != nil {
		t.Fatal(err)
	}
	ks.set("new-key", 200)
	if err := c.VerifyCallback(ctx, callbackRequest(hookSecret.Reveal(), body, signDoc("new-key", body)), body, hookSecret); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := ks.fetches.Load(); n != 2 {
		t.Errorf("fetches = %d, want 2 (one refetch on rotation)", n)
	}

	other := deliveryBody(keyURL + "&v=2")
	ks.set("", 404)
	err := c.VerifyCallback(ctx, callbackRequest(hookSecret.Reveal(), other, signDoc("x", other)), other, hookSecret)
	wantReject(t, err, 401, "signing key not available")

	ks.set("", 503)
	err = c.VerifyCallback(ctx, callbackRequest(hookSecret.Reveal(), other, signDoc("x", other)), other, hookSecret)
	var ce *helpdesk.CallbackError
	if err == nil || errors.As(err, &ce) || !errors.Is(err, helpdesk.ErrTransient) {
		t.Errorf("key server 503: err = %v, want a transient error (not a rejection)", err)
	}
}
