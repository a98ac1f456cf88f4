package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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
	listen   string // deprecated --listen; --listen-addr and HORIZON_LISTEN_ADDR win
	activity time.Duration
	duration time.Duration
	dir      string
	verbose  bool
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
			"prints what happens and where to look, and runs until interrupted (or for --duration); then it " +
			"sums up what was synced and which callbacks arrived.\n\n" +
			"Its files go to one directory, ./horizon-demo unless --dir says otherwise, rewritten on every run: " +
			"horizon.yaml, the sandbox's credentials as {file: ...} secrets (so reconciler commands in another " +
			"terminal reach the sandbox while the demo runs), and demo.log, the log (printed instead with -v). " +
			"The HTTP server listens on HORIZON_LISTEN_ADDR or --listen-addr when set; otherwise on " +
			"127.0.0.1:8080, or a free port when that is taken.",
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
	fl.StringVar(&f.listen, "listen", "", "Address of the reconciler's HTTP server.")
	_ = fl.MarkDeprecated("listen", "use --listen-addr (or HORIZON_LISTEN_ADDR)")
	fl.DurationVar(&f.activity, "activity", 3*time.Second, "How often simulated staff edit a ticket in the PSA.")
	fl.DurationVar(&f.duration, "duration", 0, "Stop after this long (0: run until interrupted).")
	fl.StringVar(&f.dir, "dir", defaultDemoDir, "Directory of the demo's files (horizon.yaml, secrets, demo.log); rewritten on every run.")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "Print the log to stderr instead of writing it to demo.log.")
	return cmd
}

func (m *Main) demo(ctx context.Context, f demoFlags) error {
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	files, err := newDemoFiles(f.dir)
	if err != nil {
		return err
	}
	if !f.verbose {
		closeLog, err := m.logTo(files.log)
		if err != nil {
			return err
		}
		defer closeLog()
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
	ln, err := m.demoListener(f)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if err := files.write(f.provider, sb, base, "http://"+widgets.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	m.say("Horizon reconciler demo: a sandbox %s with %d tickets at %s", f.provider, f.tickets, sb.URL)
	m.say("Configuration written to %s (edit it while the demo runs: the daemon reloads it)", files.config)
	if !f.verbose {
		m.say("Log: %s (-v prints it here instead)", files.log)
	}
	m.say("")
	start := time.Now()
	if err := m.demoSteps(ctx, files, ln, sb, f.activity, start); err != nil && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return err
	}
	return nil
}

// logTo sends the log to a file, so that the demo's own lines stand out.
func (m *Main) logTo(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("demo: open log: %w", err)
	}
	prev := m.Logger
	m.Logger = m.Settings.Logger(f)
	return func() { m.Logger = prev; f.Close() }, nil
}

// demoListener listens where the process settings say when the user set
// them (an address that is taken is then an error); otherwise on
// 127.0.0.1:8080 or, when that is taken, a free loopback port.
func (m *Main) demoListener(f demoFlags) (net.Listener, error) {
	_, fromEnv := m.lookupEnv()("HORIZON_LISTEN_ADDR")
	switch {
	case m.flags.listenAddrSet || fromEnv:
		ln, err := net.Listen("tcp", m.Settings.ListenAddr)
		if err != nil {
			return nil, fmt.Errorf("demo: listen on %s: %w", m.Settings.ListenAddr, err)
		}
		return ln, nil
	case f.listen != "":
		return listenOrFree(f.listen)
	}
	return listenOrFree("127.0.0.1:8080")
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
func (m *Main) demoSteps(ctx context.Context, files *demoFiles, ln net.Listener, sb *startedSandbox, every time.Duration, start time.Time) error {
	m.say("== 1/3 validate")
	if err := m.validate(ctx, []string{files.config}, config.LoadOptions{LookupEnv: m.lookupEnv()}, outputText); err != nil {
		ln.Close()
		return err
	}
	m.say("\n== 2/3 plan")
	a, closeStore, err := m.openAccount(ctx, oneFile(files.config), accountOptions{progress: m.progressFor(false), rate: -1})
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
	m.demoHints(files, ln)
	return m.demoRun(ctx, files, ln, scope, sb, every, start)
}

func (m *Main) demoRun(ctx context.Context, files *demoFiles, ln net.Listener, scope store.Scope, sb *startedSandbox, every time.Duration, start time.Time) error {
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
	d, err := daemon.New(daemon.Options{ConfigPath: files.config, Listener: ln, Store: st, Logger: m.Logger,
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
	m.demoSummary(st, scope, files, start)
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
