package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/daemon"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/reconcile"
	"github.com/horizon/reconciler/internal/store"
)

// demoFlags configure the demo.
type demoFlags struct {
	provider string
	tickets  int
	listen   string
	activity time.Duration
	duration time.Duration
	dir      string
}

func (m *Main) demoCommand() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo [--provider P] [--tickets N] [--duration D]",
		Short: "Run the whole job end to end against a sandbox PSA: no credentials, no server",
		Long: "Demo starts an emulated PSA in-process with generated data, writes a horizon.yaml for it, and runs " +
			"the reconciler on the embedded SQLite store (HORIZON_DATABASE_URL, default ./horizon.db): validate, " +
			"plan, apply (registering webhooks and backfilling the ingest window), then the daemon, while " +
			"simulated helpdesk staff edit tickets in the PSA and their changes arrive through callbacks. It " +
			"prints what happens and where to look, and runs until interrupted (or for --duration).",
		Example: "  reconciler demo\n  reconciler demo --provider autotask --tickets 2000 --duration 1m",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkEnum(cmd, "provider", f.provider, sandbox.Registered()); err != nil {
				return err
			}
			return m.demo(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "connectwise", "PSA to emulate: connectwise, autotask, zohodesk or halopsa.")
	fl.IntVar(&f.tickets, "tickets", 500, "Number of tickets in the sandbox.")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "Address of the reconciler's HTTP server; a free port is used when it is taken.")
	fl.DurationVar(&f.activity, "activity", 3*time.Second, "How often simulated staff edit a ticket in the PSA.")
	fl.DurationVar(&f.duration, "duration", 0, "Stop after this long (0: run until interrupted).")
	fl.StringVar(&f.dir, "dir", "", "Where to write the demo's horizon.yaml (default: a new temporary directory).")
	return cmd
}

func (m *Main) demo(ctx context.Context, f demoFlags) error {
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	sb, err := startSandbox(sandboxFlags{provider: f.provider, listen: "127.0.0.1:0", tickets: f.tickets, seed: 1})
	if err != nil {
		return err
	}
	defer sb.stop()
	widgets, err := serveWidgets()
	if err != nil {
		return err
	}
	defer widgets.Close()
	ln, err := listenOrFree(f.listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	file, err := writeDemoConfig(f, sb, base, "http://"+widgets.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	m.say("Horizon reconciler demo: a sandbox %s with %d tickets at %s", f.provider, f.tickets, sb.URL)
	m.say("Configuration written to %s (edit it while the demo runs: the daemon reloads it)\n", file)
	if err := m.demoSteps(ctx, file, ln, sb, f.activity); err != nil && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return err
	}
	return nil
}

// say prints one line; the demo's goroutines (daemon events, PSA activity,
// callbacks) share stdout, so lines are written whole, one at a time.
func (m *Main) say(format string, args ...any) {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	fmt.Fprintf(m.Stdout, format+"\n", args...)
}

// demoSteps runs validate, plan and apply, then the daemon with live
// activity.
func (m *Main) demoSteps(ctx context.Context, file string, ln net.Listener, sb *startedSandbox, every time.Duration) error {
	m.say("== 1/3 validate")
	if err := m.validate(ctx, []string{file}, config.LoadOptions{LookupEnv: m.lookupEnv()}, outputText); err != nil {
		ln.Close()
		return err
	}
	m.say("\n== 2/3 plan")
	a, closeStore, err := m.openAccount(ctx, file, accountOptions{progress: m.progressFor(false), rate: -1})
	if err != nil {
		ln.Close()
		return err
	}
	p, err := a.Reconciler.Plan(ctx)
	if err != nil {
		closeStore()
		ln.Close()
		return err
	}
	if err := reconcile.WritePlan(m.Stdout, p, reconcile.FormatText); err != nil {
		closeStore()
		ln.Close()
		return err
	}
	scope := a.Scope
	closeStore()
	// The daemon applies the plan on its first reconcile: the PSA may
	// check the callback URL when a webhook is registered (Zoho Desk
	// does), so the URL must already answer.
	m.say("\n== 3/3 run: the daemon applies this plan on its first reconcile (registers the webhooks, binds users,")
	m.say("   backfills the ingest window), then reconciles, polls and receives the PSA's callbacks at http://%s", ln.Addr())
	m.demoHints(file, ln)
	return m.demoRun(ctx, file, ln, scope, sb, every)
}

func (m *Main) demoHints(file string, ln net.Listener) {
	base := "http://" + ln.Addr().String()
	m.say("Where to look (in another terminal, from this directory):")
	m.say("  curl -s %s/metrics | grep ^horizon_", base)
	m.say("  go run ./cmd/reconciler logs sync -f %s", file)
	m.say("  go run ./cmd/reconciler logs callbacks -f %s", file)
	m.say("  go run ./cmd/reconciler users -f %s", file)
	m.say("  go run ./cmd/reconciler picklists -f %s", file)
	m.say("Staff in the sandbox PSA now edit tickets; each change reaches Horizon as a callback. Ctrl-C stops.\n")
}

func (m *Main) demoRun(ctx context.Context, file string, ln net.Listener, scope store.Scope, sb *startedSandbox, every time.Duration) error {
	st, err := m.openStore(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	defer st.Close()
	admin, err := listenOrFree(m.Settings.AdminAddr) // the status pages
	if err != nil {
		ln.Close()
		return err
	}
	m.say("Status pages: http://%s/ui/\n", admin.Addr())
	d, err := daemon.New(daemon.Options{ConfigPath: file, Listener: ln, Store: st, Logger: m.Logger,
		AdminListener: admin, AdminToken: m.Settings.AdminToken, RatePerSecond: -1, ReconcileInterval: time.Minute,
		Events: func(e daemon.Event) { m.say("%s  reconciler: %s", time.Now().Format("15:04:05"), e.Message) }})
	if err != nil {
		ln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.demoActivity(ctx, st, scope) }()
	go func() { defer wg.Done(); sb.World.Simulate(ctx, every, 1, m.sayActivity) }()
	err = d.Run(ctx)
	cancel() // the store and the sandbox close after the activity stops
	wg.Wait()
	return err
}

func (m *Main) sayActivity(a sandbox.Activity) {
	m.say("%s  PSA: %s", time.Now().Format("15:04:05"), a.What)
}

// demoActivity prints callbacks as the reconciler processes them.
func (m *Main) demoActivity(ctx context.Context, st store.Store, scope store.Scope) {
	seen := map[int64]bool{}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		recs, err := st.Callbacks(ctx, scope, store.CallbackFilter{Since: time.Now().Add(-time.Minute), Limit: 20})
		if err != nil {
			continue
		}
		for i := len(recs) - 1; i >= 0; i-- {
			r := recs[i]
			if seen[r.ID] || r.Result == store.CallbackAccepted {
				continue
			}
			seen[r.ID] = true
			m.say("%s  callback: %s %s → %s", time.Now().Format("15:04:05"), r.Event, strings.Join(r.ExternalIDs, ","), r.Result)
		}
	}
}

// listenOrFree listens on addr, or on a free loopback port when addr is
// taken.
func listenOrFree(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// serveWidgets serves the two embedded widgets the demo health-checks.
func serveWidgets() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	page := func(title string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!doctype html><title>"+title+"</title><p>"+title+"</p>")
		}
	}
	mux.HandleFunc("/widgets/dashboard", page("Horizon dashboard widget"))
	mux.HandleFunc("/widgets/ticket", page("Horizon ticket widget"))
	go http.Serve(ln, mux)
	return ln, nil
}

// writeDemoConfig writes the demo's horizon.yaml and sets the variables
// its secret references name.
func writeDemoConfig(f demoFlags, sb *startedSandbox, base, widgets string) (string, error) {
	dir := f.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "horizon-demo-"); err != nil {
			return "", err
		}
	}
	for k, v := range sb.Emulator.Env() {
		os.Setenv(k, v)
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	os.Setenv("HORIZON_DEMO_CALLBACK_SECRET", hex.EncodeToString(secret))
	members := sb.World.Members()
	var maps []string
	for _, mem := range members {
		if mem.Active && !mem.APIUser && len(maps) < 3 {
			maps = append(maps, fmt.Sprintf("    - {helpdeskUser: %s, horizonUser: %s}", mem.Email,
				strings.Replace(mem.Email, "@msp.example", "@horizon.example", 1)))
		}
	}
	events := "[ticket.created, ticket.updated]"
	yaml := fmt.Sprintf(demoYAML, f.provider, sb.Emulator.ConfigFragment(sb.URL), strings.Join(maps, "\n"),
		base+"/callbacks/"+f.provider, events, widgets, widgets)
	path := filepath.Join(dir, "horizon.yaml")
	return path, os.WriteFile(path, []byte(yaml), 0o600)
}

const demoYAML = `# yaml-language-server: $schema=https://raw.githubusercontent.com/horizon/reconciler/main/schema/horizon.schema.json
# Written by reconciler demo for a sandbox %s.
apiVersion: horizon/v1
account:
  name: demo
  displayName: Demo MSP
%s
sync:
  entities: [tickets, contacts, companies, timeEntries]
  ingestWindow: 90d
  pollInterval: 1m
userMappings:
  unmappedPolicy: warn
  mappings:
%s
callbacks:
  url: %s
  secret: {env: HORIZON_DEMO_CALLBACK_SECRET}
  events: %s
  staleAfter: 15m
widgets:
  - {name: dashboard, url: %s/widgets/dashboard}
  - {name: ticket, url: %s/widgets/ticket}
`
