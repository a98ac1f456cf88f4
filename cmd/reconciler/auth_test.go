package main

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	zdsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
)

// auth zohodesk prints the consent URL with exactly the client's scopes,
// exchanges the pasted code at the token endpoint and writes the refresh
// token to a 0600 file, never to the terminal.
func TestAuthZohoDesk(t *testing.T) {
	em, err := zdsandbox.New(sandbox.Options{World: sandbox.Generate(sandbox.GenOptions{Tickets: 1})}, zdsandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(func() { srv.Close(); em.Close() })
	o := em.Options()
	out := filepath.Join(t.TempDir(), "zoho-refresh-token")
	env := map[string]string{"ZOHO_CLIENT_SECRET": o.ClientSecret}
	args := []string{"auth", "zohodesk", "--client-id", o.ClientID, "--accounts-url", srv.URL,
		"--redirect-uri", "https://horizon.example/consent", "--out", out}
	pasted := "https://horizon.example/consent?state=x&code=" + o.GrantCode + "&location=us\n"
	code, stdout, stderr := run(t, env, pasted, args...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	u := regexp.MustCompile(`https?://\S+/oauth/v2/auth\?\S+`).FindString(stdout)
	consent, err := url.Parse(u)
	if err != nil || u == "" {
		t.Fatalf("no consent URL in:\n%s", stdout)
	}
	q := consent.Query()
	if got := strings.Split(q.Get("scope"), ","); !slices.Equal(got, zohodesk.Scopes) {
		t.Fatalf("consent scopes %v, want %v", got, zohodesk.Scopes)
	}
	if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || q.Get("client_id") != o.ClientID {
		t.Fatalf("consent URL %s lacks offline access, forced consent or the client id", u)
	}
	b, err := os.ReadFile(out)
	if err != nil || strings.TrimSpace(string(b)) != o.RefreshToken {
		t.Fatalf("refresh token file: %q, %v", b, err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Fatalf("refresh token file mode %v, want 0600", fi.Mode().Perm())
	}
	if strings.Contains(stdout+stderr, o.RefreshToken) || strings.Contains(stdout+stderr, o.ClientSecret) {
		t.Fatal("a credential was printed")
	}

	// The code works once: a second exchange fails, naming what to do,
	// and leaves the file as it was.
	code, _, stderr = run(t, env, o.GrantCode+"\n", args...)
	if code != ExitFailure || !strings.Contains(stderr, "invalid_code") {
		t.Fatalf("reused code: exit %d, %s", code, stderr)
	}
	if b2, _ := os.ReadFile(out); string(b2) != string(b) {
		t.Fatal("a failed exchange changed the token file")
	}
	code, _, stderr = run(t, map[string]string{}, "", args...)
	if code != ExitUsage || !strings.Contains(stderr, "ZOHO_CLIENT_SECRET") {
		t.Fatalf("no secret: exit %d, %s", code, stderr)
	}
}

// docs/permissions.md lists exactly the scopes the client asks for.
func TestPermissionsDocListsZohoScopes(t *testing.T) {
	b, err := os.ReadFile("../../docs/permissions.md")
	if err != nil {
		t.Fatal(err)
	}
	_, zoho, ok := strings.Cut(string(b), "## Zoho Desk")
	_, block, ok2 := strings.Cut(zoho, "```\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/permissions.md has no scope block under ## Zoho Desk")
	}
	if got := strings.Fields(block); !slices.Equal(got, zohodesk.Scopes) {
		t.Fatalf("documented scopes %v, client scopes %v", got, zohodesk.Scopes)
	}
}
