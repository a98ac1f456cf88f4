package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/providers"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	zdemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
	"github.com/horizon/reconciler/internal/syncer"
)

var update = flag.Bool("update", false, "rewrite golden files")

// env is one account reconciled against a provider's sandbox.
type env struct {
	world    *sandbox.World
	emulator sandbox.Emulator
	hooks    *httptest.Server
	yaml     string
	store    store.Store
	rec      *reconcile.Reconciler
}

const callbackSecret = "test-callback-secret-0123456789"

// newEnv serves the provider's emulator, writes a horizon.yaml around its
// config fragment (body is the rest of the file, with %s for the callback
// URL), and builds the reconciler exactly as the CLI does: config.Parse,
// providers.New, a SQLite store and the real sync engine.
func newEnv(t *testing.T, provider, body string) *env {
	t.Helper()
	world := sandbox.Generate(sandbox.GenOptions{Tickets: 40, Seed: 7})
	em, err := sandbox.New(provider, sandbox.Options{World: world, DeliveryScale: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	if z, ok := em.(*zdemu.Emulator); ok {
		// a Free-edition org that has spent 900 of its 5,000 credits today
		z.SetDailyCredits(5000)
		z.SetCreditsUsed(900)
	}
	psa := httptest.NewServer(em)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(func() { psa.Close(); hooks.Close(); em.Close() })
	for k, v := range em.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("HORIZON_TEST_CALLBACK_SECRET", callbackSecret)
	e := &env{world: world, emulator: em, hooks: hooks}
	e.yaml = "apiVersion: horizon/v1\naccount:\n  name: test-msp\n" + em.ConfigFragment(psa.URL) +
		fmt.Sprintf(body, hooks.URL+"/callbacks/"+provider)
	e.store = openStore(t)
	e.rec = e.reconciler(t)
	return e
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "horizon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// reconciler (re)builds the reconciler from e.yaml.
func (e *env) reconciler(t *testing.T) *reconcile.Reconciler {
	t.Helper()
	ctx := context.Background()
	cfg, diags := config.Parse("horizon.yaml", []byte(e.yaml), config.LoadOptions{})
	if cfg == nil {
		t.Fatalf("config invalid:\n%v\n%s", diags, e.yaml)
	}
	prov, err := providers.New(ctx, cfg.Helpdesk, providers.Options{RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	scope := store.Scope{Account: cfg.Account.Name, Provider: string(cfg.Helpdesk.Provider)}
	var ents []helpdesk.Entity
	for _, en := range cfg.Sync.Entities {
		ents = append(ents, helpdesk.Entity(en))
	}
	sy, err := syncer.New(prov, e.store, syncer.Options{Scope: scope, Entities: ents,
		IngestWindow: cfg.Sync.IngestWindow.Std(), Jitter: -1})
	if err != nil {
		t.Fatal(err)
	}
	var secret helpdesk.Secret
	if cfg.Callbacks != nil {
		if secret, err = providers.Secret(ctx, "callbacks.secret", cfg.Callbacks.Secret); err != nil {
			t.Fatal(err)
		}
	}
	return &reconcile.Reconciler{Config: cfg, Provider: prov, Store: e.store, Syncer: sy, CallbackSecret: secret}
}

// members returns the first n active staff members (not the API user).
func members(w *sandbox.World, n int) []sandbox.Member {
	var out []sandbox.Member
	for _, m := range w.Members() {
		if m.Active && !m.APIUser && len(out) < n {
			out = append(out, m)
		}
	}
	return out
}

var bodies = map[string]string{
	helpdesk.ConnectWise: `
sync:
  entities: [tickets, contacts, companies, timeEntries]
  ingestWindow: 30d
userMappings:
  unmappedPolicy: warn
  mappings:
    - {helpdeskUser: %[2]s, horizonUser: first@msp.example}
    - {helpdeskUser: %[3]s, horizonUser: second@msp.example}
    - {helpdeskUser: nobody@msp.example, horizonUser: ghost@msp.example}
picklists:
  create: true
  statuses:
    - board: Help Desk
      values: [New, In Progress, Waiting Vendor]
  priorities: [Priority 1 - Critical, Priority 5 - Trivial]
callbacks:
  url: %[1]s
  secret: {env: HORIZON_TEST_CALLBACK_SECRET}
  events: [ticket.created, ticket.updated, contact.updated]
`,
	"other": `
sync:
  entities: [tickets, contacts, companies, timeEntries]
  ingestWindow: 30d
userMappings:
  unmappedPolicy: warn
  mappings:
    - {helpdeskUser: %[2]s, horizonUser: first@msp.example}
    - {helpdeskUser: %[3]s, horizonUser: second@msp.example}
    - {helpdeskUser: nobody@msp.example, horizonUser: ghost@msp.example}
picklists:
  statuses: [New, In Progress, Waiting Vendor]
  priorities: [Priority 1 - Critical, Priority 5 - Trivial]
callbacks:
  url: %[1]s
  secret: {env: HORIZON_TEST_CALLBACK_SECRET}
  events: [ticket.created, ticket.updated]
`,
}

// bodyFor is bodyWithError without the mapping to a user that does not
// exist: a file whose plan applies.
func bodyFor(provider string, w *sandbox.World) string {
	return strings.Replace(bodyWithError(provider, w), ghostMapping, "", 1)
}

// ghostMapping maps a helpdesk user no sandbox has: an error in the plan.
const ghostMapping = "    - {helpdeskUser: nobody@msp.example, horizonUser: ghost@msp.example}\n"

func bodyWithError(provider string, w *sandbox.World) string {
	b, ok := bodies[provider]
	if !ok {
		b = bodies["other"]
	}
	ms := members(w, 2)
	// %[1]s stays for the callback URL; fill in the two members' emails.
	b = strings.ReplaceAll(b, "%[2]s", ms[0].Email)
	b = strings.ReplaceAll(b, "%[3]s", ms[1].Email)
	return strings.ReplaceAll(b, "%[1]s", "%s")
}

// normalise makes plan text stable: dates and sandbox ports vary.
var (
	reDate = regexp.MustCompile(`\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}Z)?`)
	rePort = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	reID   = regexp.MustCompile(`\(id [^)]*\)`)
)

func normalise(s string) string {
	s = reDate.ReplaceAllString(s, "<date>")
	s = rePort.ReplaceAllString(s, "127.0.0.1:<port>")
	return reID.ReplaceAllString(s, "(id <id>)")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/reconcile -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func planText(t *testing.T, p *reconcile.Plan, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := reconcile.WritePlan(&b, p, format); err != nil {
		t.Fatal(err)
	}
	return normalise(b.String())
}

// TestPlanApplyPerProvider plans and applies a realistic file against each
// provider's sandbox: the first plan (golden), an apply that succeeds, a
// second plan with no changes (idempotency), and a prune when callbacks
// are removed from the file.
func TestPlanApplyPerProvider(t *testing.T) {
	for _, provider := range helpdesk.Providers {
		t.Run(provider, func(t *testing.T) {
			ctx := context.Background()
			w := sandbox.Generate(sandbox.GenOptions{Tickets: 40, Seed: 7})
			e := newEnv(t, provider, bodyWithError(provider, w))

			plan, err := e.rec.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, provider+".plan.txt", planText(t, plan, reconcile.FormatText))
			golden(t, provider+".plan.md", planText(t, plan, reconcile.FormatMarkdown))
			golden(t, provider+".plan.json", planText(t, plan, reconcile.FormatJSON))
			if strings.Contains(planText(t, plan, reconcile.FormatJSON), callbackSecret) {
				t.Fatal("the plan shows the callback secret")
			}
			if !plan.HasErrors() {
				t.Error("a mapping to a helpdesk user that does not exist must be an error in the plan")
			}
			checkRefused(t, ctx, e, plan)

			// Fix the file: the plan now applies.
			e.yaml = strings.Replace(e.yaml, ghostMapping, "", 1)
			e.rec = e.reconciler(t)
			if plan, err = e.rec.Plan(ctx); err != nil {
				t.Fatal(err)
			}
			res := e.rec.Apply(ctx, plan)
			if err := res.Err(); err != nil {
				t.Fatalf("apply: %v", err)
			}
			again, err := e.rec.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if again.HasChanges() {
				t.Fatalf("plan after apply is not empty:\n%s", planText(t, again, reconcile.FormatText))
			}
			if n := len(e.rec.Apply(ctx, again).Applied); n != 0 {
				t.Fatalf("second apply changed %d things", n)
			}
			checkMappings(t, e)
			checkWebhooksRegistered(t, ctx, e)

			// Remove callbacks from the file: Horizon's registrations go.
			e.yaml = e.yaml[:strings.Index(e.yaml, "callbacks:")]
			e.rec = e.reconciler(t)
			pruned, err := e.rec.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			removes := 0
			for _, c := range pruned.Changes {
				if c.Kind == reconcile.KindWebhooks && c.Action == reconcile.ActionRemove {
					removes++
				}
			}
			if removes == 0 {
				t.Fatalf("no webhook removal planned after callbacks were removed:\n%s", planText(t, pruned, reconcile.FormatText))
			}
			if err := e.rec.Apply(ctx, pruned).Err(); err != nil {
				t.Fatal(err)
			}
			hooks, err := e.rec.Provider.Webhooks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hooks {
				if h.Managed {
					t.Errorf("managed webhook %s survived the prune", h.Key)
				}
			}
		})
	}
}

func checkMappings(t *testing.T, e *env) {
	t.Helper()
	ms, err := e.store.UserMappings(context.Background(), e.rec.Scope())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("stored %d mappings, want 2: %+v", len(ms), ms)
	}
}

func checkWebhooksRegistered(t *testing.T, ctx context.Context, e *env) {
	t.Helper()
	managed := managedWebhooks(t, ctx, e)
	for _, h := range managed {
		if strings.Contains(h.URL, callbackSecret) {
			t.Errorf("observed webhook %s exposes the secret in its URL", h.Key)
		}
	}
	if len(managed) == 0 {
		t.Fatal("apply registered no webhook")
	}
}

// managedWebhooks returns the webhooks Horizon registered on the PSA.
func managedWebhooks(t *testing.T, ctx context.Context, e *env) []helpdesk.Webhook {
	t.Helper()
	hooks, err := e.rec.Provider.Webhooks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []helpdesk.Webhook
	for _, h := range hooks {
		if h.Managed {
			out = append(out, h)
		}
	}
	return out
}

// TestSuspendAndWarnOnlyReport checks that suspend: true stops every PSA
// write and drift: warn turns a section's changes into reported drift.
func TestSuspendAndWarnOnlyReport(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, edit string
		kind       reconcile.Kind
	}{
		{"suspend", "suspend: true\n", reconcile.KindWebhooks},
		{"callbacks warn", "", reconcile.KindWebhooks},
		{"mappings warn", "", reconcile.KindUserMappings},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := sandbox.Generate(sandbox.GenOptions{Tickets: 40, Seed: 7})
			e := newEnv(t, helpdesk.ConnectWise, bodyFor(helpdesk.ConnectWise, w))
			switch tc.name {
			case "suspend":
				e.yaml += tc.edit
			case "callbacks warn":
				e.yaml = strings.Replace(e.yaml, "callbacks:\n", "callbacks:\n  drift: warn\n", 1)
			case "mappings warn":
				e.yaml = strings.Replace(e.yaml, "userMappings:\n", "userMappings:\n  drift: warn\n", 1)
			}
			e.rec = e.reconciler(t)
			plan, err := e.rec.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cs, ds := plan.ByKind(tc.kind); len(cs) != 0 || len(ds) == 0 {
				t.Fatalf("%s: %d changes and %d drift items, want only drift:\n%s", tc.kind, len(cs), len(ds), planText(t, plan, "text"))
			}
			if err := e.rec.Apply(ctx, plan).Err(); err != nil {
				t.Fatal(err)
			}
			if tc.kind == reconcile.KindWebhooks {
				hooks, _ := e.rec.Provider.Webhooks(ctx)
				for _, h := range hooks {
					if h.Managed {
						t.Fatalf("webhook %s registered although writes were off", h.Key)
					}
				}
			}
		})
	}
}

// TestPlanUnchangedAfterSecretRotation checks that rotating the callback
// secret shows as a change of the registrations (by fingerprint).
func TestPlanSecretRotation(t *testing.T) {
	ctx := context.Background()
	w := sandbox.Generate(sandbox.GenOptions{Tickets: 40, Seed: 7})
	e := newEnv(t, helpdesk.ConnectWise, bodyFor(helpdesk.ConnectWise, w))
	plan, err := e.rec.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rec.Apply(ctx, plan).Err(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HORIZON_TEST_CALLBACK_SECRET", "a-new-secret-after-rotation")
	e.rec = e.reconciler(t)
	plan, err = e.rec.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := plan.ByKind(reconcile.KindWebhooks)
	if len(cs) == 0 || cs[0].Action != reconcile.ActionChange {
		t.Fatalf("rotated secret not planned as a change:\n%s", planText(t, plan, "text"))
	}
	if strings.Contains(planText(t, plan, "json"), "a-new-secret-after-rotation") {
		t.Fatal("plan shows the new secret")
	}
}

// TestApplyFencedStopsWhenLeadershipIsLost: a fence that fails after the
// first change stops the apply there: the rest fail with the fence's
// error and none of them reaches the PSA.
func TestApplyFencedStopsWhenLeadershipIsLost(t *testing.T) {
	ctx := context.Background()
	w := sandbox.Generate(sandbox.GenOptions{Tickets: 40, Seed: 7})
	e := newEnv(t, helpdesk.ConnectWise, bodyFor(helpdesk.ConnectWise, w))
	plan, err := e.rec.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hooks, _ := plan.ByKind(reconcile.KindWebhooks)
	if len(plan.Changes) < 2 || len(hooks) == 0 {
		t.Fatalf("want several changes including webhooks:\n%s", planText(t, plan, "text"))
	}
	lost := errors.New("lease lost")
	calls := 0
	res := e.rec.ApplyFenced(ctx, plan, func(context.Context) error {
		if calls++; calls > 1 {
			return lost
		}
		return nil
	})
	if len(res.Applied) != 1 || len(res.Applied)+len(res.Failed) != len(plan.Changes) {
		t.Fatalf("%d applied, %d failed of %d changes; want the first applied, the rest failed",
			len(res.Applied), len(res.Failed), len(plan.Changes))
	}
	for _, f := range res.Failed {
		if !errors.Is(f.Err, lost) {
			t.Errorf("%s %s failed with %v, want the fence's error", f.Change.Action, f.Change.Target, f.Err)
		}
	}
	if calls != 2 {
		t.Errorf("fence called %d times, want 2 (it is not asked again once it failed)", calls)
	}
	managed := len(managedWebhooks(t, ctx, e))
	if first := res.Applied[0]; first.Kind == reconcile.KindWebhooks && managed > 1 || first.Kind != reconcile.KindWebhooks && managed > 0 {
		t.Errorf("%d webhooks registered after the fence failed (first change: %s %s)", managed, first.Action, first.Target)
	}
}
