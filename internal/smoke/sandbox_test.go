package smoke_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/smoke"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rig is one account on a provider's sandbox with the daemon's leader
// work running in-process: the callback receiver and dispatcher, the
// polling sync (every 300 ms, far below the file's minimum, so that a
// test sees polling at work) and the write-back worker.
type rig struct {
	world  *sandbox.World
	faults *sandbox.Faults
	acct   *account.Account
	st     store.Store
	user   string
	member sandbox.Member
}

const rigSecret = "smoke-test-callback-secret-0123456789"

func newRig(t *testing.T, provider string) *rig {
	t.Helper()
	ctx := context.Background()
	world := sandbox.Generate(sandbox.GenOptions{Tickets: 30, Seed: 11})
	faults := sandbox.NewFaults(1)
	em, err := sandbox.New(provider, sandbox.Options{World: world, Faults: faults, DeliveryScale: 0.001, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	psa := httptest.NewServer(em)
	mux := http.NewServeMux()
	var handler http.Handler = http.NotFoundHandler()
	var mu sync.Mutex
	mux.HandleFunc("/callbacks/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
	hooks := httptest.NewServer(mux)
	for k, v := range em.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("HORIZON_SMOKE_CALLBACK_SECRET", rigSecret)
	var member sandbox.Member
	for _, m := range world.Members() {
		if m.Active && !m.APIUser {
			member = m
			break
		}
	}
	yaml := "apiVersion: horizon/v1\naccount:\n  name: smoke-test\n" + em.ConfigFragment(psa.URL) + fmt.Sprintf(`
sync:
  entities: [tickets, timeEntries]
  ingestWindow: 30d
userMappings:
  unmappedPolicy: ignore
  mappings:
    - {helpdeskUser: %s, horizonUser: jane@horizon.example}
callbacks:
  url: %s/callbacks/%s
  secret: {env: HORIZON_SMOKE_CALLBACK_SECRET}
  events: [ticket.created, ticket.updated]
writeback: {enabled: true}
smoke:
  callbackTimeout: 5s
`, member.Email, hooks.URL, provider)
	cfg, diags := config.Parse("horizon.yaml", []byte(yaml), config.LoadOptions{})
	if cfg == nil {
		t.Fatalf("config invalid:\n%v\n%s", diags, yaml)
	}
	cfg.Sync.PollInterval = config.Duration(300 * time.Millisecond)
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "horizon.db"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := account.New(ctx, cfg, account.Options{Store: st, Logger: quiet, RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := callback.NewReceiver(callback.Config{Scope: a.Scope, Provider: a.Provider, Store: st,
		Secret: a.CallbackSecret, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	handler = rc
	mu.Unlock()
	// The first reconcile: webhooks registered, user bound, backfill.
	p, err := a.Reconciler.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Reconciler.Apply(ctx, p).Err(); err != nil {
		t.Fatal(err)
	}
	disp, err := callback.NewDispatcher(callback.DispatcherConfig{Scope: a.Scope, Store: st,
		Fetcher: callback.SyncFetcher(a.Syncer), Wake: rc.Accepted(), Logger: quiet, Coalesce: -1,
		PollInterval: 50 * time.Millisecond, Echo: a.Writeback.EchoOf})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, f := range []func(context.Context) error{rc.Run, disp.Run, a.Syncer.Run, a.Writeback.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); f(runCtx) }()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		hooks.Close()
		psa.Close()
		em.Close()
		st.Close()
	})
	return &rig{world: world, faults: faults, acct: a, st: st, user: "jane@horizon.example", member: member}
}

// staffEditOnceTicketCreated has a technician change a generated ticket in
// the PSA's UI as soon as the smoke test has created its ticket.
func (r *rig) staffEditOnceTicketCreated(t *testing.T) {
	t.Helper()
	before, _ := r.world.QueryTickets(sandbox.TicketQuery{})
	first := before[0].ID
	done := make(chan struct{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		for {
			if now, _ := r.world.QueryTickets(sandbox.TicketQuery{}); len(now) > len(before) {
				break
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		if _, err := r.world.UpdateTicket(first, sandbox.UI(r.member.ID), func(tk *sandbox.Ticket) error {
			tk.Summary += " (edited)"
			return nil
		}); err != nil {
			t.Errorf("staff edit: %v", err)
		}
	}()
}

func (r *rig) options() smoke.Options {
	a := r.acct
	return smoke.Options{Provider: a.Provider, Store: r.st, Scope: a.Scope, Config: a.Config,
		Writer: smoke.AccountWriter(a, false), Syncer: a.Syncer, Daemon: true, File: "horizon.yaml",
		Logger: quiet, Tick: 50 * time.Millisecond, PollWait: 20 * time.Second, WriteTimeout: 5 * time.Second}
}

// staffEdit has a technician edit another ticket in the PSA's UI once the
// test ticket exists: the activity that calls back where the PSA does not
// call back for Horizon's own changes.
func (r *rig) staffEdit(ctx context.Context) {
	for ctx.Err() == nil {
		tickets, _ := r.world.QueryTickets(sandbox.TicketQuery{Filter: func(t *sandbox.Ticket) bool {
			return strings.HasPrefix(t.Summary, "Horizon smoke test")
		}})
		if len(tickets) > 0 {
			first, _ := r.world.QueryTickets(sandbox.TicketQuery{Limit: 1})
			r.world.UpdateTicket(first[0].ID, sandbox.UI(r.member.ID), func(t *sandbox.Ticket) error {
				t.Summary += " (edited)"
				return nil
			})
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *rig) run(t *testing.T, o smoke.Options) smoke.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go r.staffEdit(ctx)
	rep, err := smoke.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rep.Write(&b, smoke.FormatText)
	t.Logf("\n%s", b.String())
	return rep
}

func results(r smoke.Report) string {
	var b []string
	for _, s := range r.Steps {
		b = append(b, s.Step+"="+s.Result)
	}
	return strings.Join(b, " ")
}

func step(r smoke.Report, name string) smoke.StepResult {
	for _, s := range r.Steps {
		if s.Step == name {
			return s
		}
	}
	return smoke.StepResult{}
}

// openSmokeTickets lists the test tickets the PSA holds open.
func openSmokeTickets(w *sandbox.World) []string {
	tickets, _ := w.QueryTickets(sandbox.TicketQuery{})
	var open []string
	for _, tk := range tickets {
		if strings.HasPrefix(tk.Summary, "Horizon smoke test") {
			if st, _, ok := w.Status(tk.StatusID); ok && !st.Closed {
				open = append(open, fmt.Sprintf("%d %s", tk.ID, st.Name))
			}
		}
	}
	return open
}

const allPass = "connect=pass create=pass callback=pass status=pass note=pass assign=pass time=pass cleanup=pass"

func TestSandbox(t *testing.T) {
	for _, provider := range helpdesk.Providers {
		t.Run(provider, func(t *testing.T) {
			t.Run("all steps pass", func(t *testing.T) {
				r := newRig(t, provider)
				rep := r.run(t, r.options())
				if got := results(rep); got != allPass {
					t.Fatalf("results %s", got)
				}
				if d := step(rep, smoke.StepCallback).Detail; !strings.Contains(d, "arrived by callback") &&
					!strings.Contains(d, "callbacks reach Horizon: a verified callback") {
					t.Errorf("callback detail %q", d)
				}
				if open := openSmokeTickets(r.world); len(open) > 0 {
					t.Errorf("open test tickets left: %v", open)
				}
				// The write log holds the run's writes; the sync log its summary.
				ws, err := r.st.Writes(context.Background(), r.acct.Scope, store.WriteFilter{TicketID: rep.TicketID})
				if err != nil || len(ws) != 4 {
					t.Errorf("write log for ticket %s: %d writes, %v; want 4", rep.TicketID, len(ws), err)
				}
				last, ok, err := smoke.LastRun(context.Background(), r.st, r.acct.Scope)
				if err != nil || !ok || last.Error != "" || last.TicketID != rep.TicketID {
					t.Errorf("last smoke run = %+v, %v, %v", last, ok, err)
				}
			})
			t.Run("webhooks not delivered", func(t *testing.T) {
				r := newRig(t, provider)
				r.faults.Set(sandbox.FaultSettings{DropWebhooks: 1})
				o := r.options()
				o.Config.Smoke.CallbackTimeout = config.Duration(3 * time.Second)
				// Where the PSA never calls back for Horizon's own test
				// ticket, the evidence is a staff edit made while the step
				// waits: polling finds it, no callback announces it.
				if provider == helpdesk.ConnectWise || provider == helpdesk.ZohoDesk {
					r.staffEditOnceTicketCreated(t)
				}
				rep := r.run(t, o)
				want := strings.Replace(allPass, "callback=pass", "callback=fail", 1)
				if got := results(rep); got != want {
					t.Fatalf("results %s, want %s", got, want)
				}
				d := step(rep, smoke.StepCallback).Detail
				for _, s := range []string{"callbacks are not reaching Horizon", "polling works"} {
					if !strings.Contains(d, s) {
						t.Errorf("callback detail %q lacks %q", d, s)
					}
				}
				if f := rep.FirstFailure(); f == nil || f.Step != smoke.StepCallback || f.Next == "" {
					t.Errorf("first failure = %+v", f)
				}
			})
			t.Run("a write refused", func(t *testing.T) {
				r := newRig(t, provider)
				o := r.options()
				o.Writer = refuseStatus{o.Writer}
				rep := r.run(t, o)
				want := strings.Replace(allPass, "status=pass", "status=fail", 1)
				if got := results(rep); got != want {
					t.Fatalf("results %s, want %s", got, want)
				}
				if d := step(rep, smoke.StepStatus).Detail; !strings.Contains(d, "from Horizon: status: unknown status \"999999\"") {
					t.Errorf("status detail %q", d)
				}
				if open := openSmokeTickets(r.world); len(open) > 0 {
					t.Errorf("clean-up after the failure left open test tickets: %v", open)
				}
			})
			t.Run("credentials revoked mid-run", func(t *testing.T) {
				r := newRig(t, provider)
				o := r.options()
				o.Writer = revokeFirst{o.Writer, r.faults}
				rep := r.run(t, o)
				if got := results(rep); !strings.HasPrefix(got, "connect=pass create=pass callback=pass status=fail") ||
					!strings.HasSuffix(got, "cleanup=fail") {
					t.Fatalf("results %s", got)
				}
				if rep.Left != rep.TicketID || !strings.Contains(step(rep, smoke.StepCleanup).Detail, "ticket "+rep.TicketID+" was left open") {
					t.Errorf("left = %q; cleanup %+v", rep.Left, step(rep, smoke.StepCleanup))
				}
				if open := openSmokeTickets(r.world); len(open) != 1 {
					t.Errorf("open test tickets %v, want the one named", open)
				}
			})
		})
	}
}

// refuseStatus asks for a status the PSA does not have.
type refuseStatus struct{ smoke.Writer }

func (w refuseStatus) Write(ctx context.Context, r smoke.Write) (smoke.Written, error) {
	if r.Op == smoke.OpStatus {
		r.Status = "999999"
	}
	return w.Writer.Write(ctx, r)
}

// revokeFirst revokes the credentials in the PSA just before the first
// write.
type revokeFirst struct {
	smoke.Writer
	f *sandbox.Faults
}

func (w revokeFirst) Write(ctx context.Context, r smoke.Write) (smoke.Written, error) {
	w.f.Set(sandbox.FaultSettings{Unauthorized: true})
	return w.Writer.Write(ctx, r)
}
