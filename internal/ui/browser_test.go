package ui

import (
	"context"

	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath finds the browser; without one the test is skipped, except
// in CI (CI=true), where a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: CI needs it for the status pages' browser tests (scripts/ci-deps installs it)")
	}
	t.Skip("chromium is not installed; the browser tests need it")
	return ""
}

// browser starts a headless Chromium with a fresh profile and collects
// what its console reports.
type browser struct {
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// problems returns, and forgets, the console's errors and exceptions.
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
			out = append(out, m.String())
		}
	}
	b.console = nil
	return out
}

func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// click presses a button and waits for the page it leads to.
func (b *browser) click(t *testing.T, sel string) {
	t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// screenshotDir is where screenshots go: $HORIZON_UI_SCREENSHOTS (the
// docs use it), else a test artefact directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("HORIZON_UI_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func (b *browser) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// unreached tabs through the page and returns the visible controls the
// keyboard never focused.
func (b *browser) unreached(t *testing.T) []string {
	t.Helper()
	const controls = `[...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, summary')]
		.filter(e => e.getClientRects().length > 0)`
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](controls+`.length`))
	if err != nil {
		t.Fatal(err)
	}
	for range n + 2 {
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(document.activeElement && document.activeElement.setAttribute('data-reached', '1'), true)`)); err != nil {
			t.Fatal(err)
		}
		b.do(t, "tab", chromedp.KeyEvent(kb.Tab))
	}
	missed, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](controls+
		`.filter(e => !e.hasAttribute('data-reached')).map(e => e.outerHTML.slice(0, 80))`))
	if err != nil {
		t.Fatal(err)
	}
	return missed
}

// TestBrowserPages drives every page in a real browser: it loads with no
// console error, shows what the store holds, its buttons work, and the
// keyboard reaches every control. Screenshots are written for the docs
// and as artefacts.
func TestBrowserPages(t *testing.T) {
	f := newFixture(t, Options{})
	f.reconcile(t)
	tk := f.firstTicket(t)
	f.seedTrails(t, tk.ExternalID)
	b := newBrowser(t)
	dir := screenshotDir(t)
	base := f.srv.URL + "/ui"
	pages := []struct {
		name, path string
		want       []string
	}{
		{"overview", "/", []string{"Configuration", "Callbacks", "Sync: tickets", "Write-back outbox", "never run"}},
		{"configuration", "/configuration", []string{"UI_TEST_CALLBACK_SECRET", "Priority 9 - Nonexistent"}},
		{"users", "/users", []string{"helpdesk users"}},
		{"picklists", "/picklists", []string{"Priority 1 - Critical", "missing"}},
		{"widgets", "/widgets", []string{"dashboard", "X-Frame-Options SAMEORIGIN", "Where to paste the URL"}},
		{"callbacks", "/callbacks", []string{"Last hour by result", "signature mismatch", "fetch failed"}},
		{"sync-runs", "/sync-runs", []string{"backfill", "callback"}},
		{"callback-log", "/callback-log", []string{"signature mismatch", "HTTP 503"}},
		{"writes", "/writes", []string{"member not found", "dead"}},
		{"ticket", "/tickets/" + tk.ExternalID, []string{tk.Summary, "Sync runs that touched it", "HTTP 503", "member not found"}},
	}
	for _, p := range pages {
		b.do(t, "open "+p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		body := b.text(t, "main")
		for _, w := range p.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the page lacks %q", p.name, w)
			}
		}
		if strings.Contains(body, callbackSecret) {
			t.Errorf("%s: the page shows the callback secret", p.name)
		}
		b.screenshot(t, dir, p.name)
		if missed := b.unreached(t); len(missed) > 0 {
			t.Errorf("%s: the keyboard never reaches %v", p.name, missed)
		}
		if probs := b.problems(); len(probs) > 0 {
			t.Errorf("%s: console errors: %v", p.name, probs)
		}
	}
	buttons := []struct {
		path, button, says string
	}{
		{"/picklists", "form[action$='/picklists/refresh'] button", "Picklist database refreshed"},
		{"/widgets", "form[action$='/widgets/check'] button", "Checked 2 widgets: 1 up."},
		{"/tickets/" + tk.ExternalID, "form[action$='/sync'] button", "Synced ticket " + tk.ExternalID},
	}
	for _, bt := range buttons {
		b.do(t, "open "+bt.path, chromedp.Navigate(base+bt.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		b.click(t, bt.button)
		if msg := b.text(t, ".message"); !strings.Contains(msg, bt.says) {
			t.Errorf("%s: after the button: %q, want %q", bt.path, msg, bt.says)
		}
		if probs := b.problems(); len(probs) > 0 {
			t.Errorf("%s: console errors: %v", bt.path, probs)
		}
	}
	// The filter form of an audit trail, driven by the keyboard.
	b.do(t, "open sync runs", chromedp.Navigate(base+"/sync-runs"), chromedp.WaitVisible(chromedp.CSS("#f-ticket")),
		chromedp.SendKeys(chromedp.CSS("#f-ticket"), tk.ExternalID))
	if _, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent(kb.Enter))); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(b.ctx, chromedp.Location()); !strings.Contains(loc, "ticket="+tk.ExternalID) {
		t.Errorf("the filter form went to %s", loc)
	}
	if rows := b.text(t, "main table tbody"); !strings.Contains(rows, "callback") || strings.Contains(rows, "backfill") {
		t.Errorf("filtered by ticket:\n%s", rows)
	}
	t.Logf("screenshots in %s", dir)
}

// TestBrowserAccounts drives the accounts overview of several accounts
// in a real browser: the verdicts, worst first, a click into one
// account's pages and its buttons, and the way back.
func TestBrowserAccounts(t *testing.T) {
	ff := threeAccounts(t, FleetOptions{})
	b := newBrowser(t)
	dir := screenshotDir(t)
	b.do(t, "open the accounts overview", chromedp.Navigate(ff.srv.URL+"/ui/"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	body := b.text(t, "main")
	for _, w := range []string{"4 accounts", "2 red", "1 amber", "1 green", "Not running", "Write-back outbox: 1 writes gave up (dead)"} {
		if !strings.Contains(body, w) {
			t.Errorf("the accounts overview lacks %q", w)
		}
	}
	if first := b.text(t, "table.fleet tbody tr:first-child td:nth-child(2)"); first != "broken" {
		t.Errorf("first row %q, want the account that is not running", first)
	}
	b.screenshot(t, dir, "accounts")
	if missed := b.unreached(t); len(missed) > 0 {
		t.Errorf("the keyboard never reaches %v", missed)
	}
	b.click(t, `table.fleet a[href="/ui/accounts/red/"]`)
	if h := b.text(t, "header .account"); h != "Red MSP (connectwise)" {
		t.Errorf("clicked into %q", h)
	}
	if v := b.text(t, ".verdict"); !strings.Contains(v, "red") {
		t.Errorf("the account's own verdict: %q", v)
	}
	// A button of the account, with the fleet's CSRF token.
	b.click(t, `nav a[href="/ui/accounts/red/widgets"]`)
	b.click(t, "form[action='/ui/accounts/red/widgets/check'] button")
	if msg := b.text(t, ".message"); !strings.Contains(msg, "Checked 2 widgets") {
		t.Errorf("after Check now: %q", msg)
	}
	b.click(t, `nav.crumbs a`)
	if loc, _ := chromedp.Run(b.ctx, chromedp.Location()); loc != ff.srv.URL+"/ui/" {
		t.Errorf("the breadcrumb went to %s", loc)
	}
	if probs := b.problems(); len(probs) > 0 {
		t.Errorf("console errors: %v", probs)
	}
	b.do(t, "open an unknown account", chromedp.Navigate(ff.srv.URL+"/ui/accounts/nope/"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if body := b.text(t, "main"); !strings.Contains(body, "There is no account named nope.") || !strings.Contains(body, "green") {
		t.Errorf("unknown account page:\n%s", body)
	}
	for _, p := range b.problems() { // the browser may report the 404 itself, nothing else
		if !strings.Contains(p, "404") {
			t.Errorf("console error: %s", p)
		}
	}
	t.Logf("screenshots in %s", dir)
}
