package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	// The emulators register themselves with the sandbox.
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
)

// sandboxFlags configure a sandbox PSA.
type sandboxFlags struct {
	provider   string
	listen     string
	tickets    int
	seed       int64
	activity   time.Duration
	rateLimit  float64
	errorRate  float64
	dropHooks  float64
	retryAfter time.Duration
	clockSkew  time.Duration
	now        string // RFC 3339 anchor of the generated timestamps; "" for the start time
	pageFaults []string
}

func (m *Main) sandboxCommand() *cobra.Command {
	var f sandboxFlags
	cmd := &cobra.Command{
		Use:   "sandbox --provider connectwise|autotask|zohodesk|halopsa [--listen ADDR] [--tickets N] [--seed S]",
		Short: "Run an emulated PSA with generated data, for trying Horizon and for tests",
		Long: "Sandbox serves an emulator of the chosen PSA's REST API on ADDR, over a deterministic generated " +
			"dataset (companies, contacts, members, boards or queues, statuses, types, priorities, and N tickets " +
			"with notes and time entries). It checks credentials exactly as the PSA does, pages and filters as it " +
			"does, and delivers webhooks to the URLs registered with it.\n\n" +
			"It prints its base URL, a horizon.yaml helpdesk block that points at it, and the environment " +
			"variables holding the credentials it accepts. It runs until interrupted.",
		Example: "  reconciler sandbox --provider connectwise --listen 127.0.0.1:9090 --tickets 5000\n" +
			"  reconciler sandbox --provider autotask --activity 5s",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.runSandbox(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "connectwise", "PSA to emulate: "+strings.Join(sandbox.Registered(), ", ")+".")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:0", "Address to serve on; port 0 picks a free port.")
	fl.IntVar(&f.tickets, "tickets", 500, "Number of tickets to generate.")
	fl.Int64Var(&f.seed, "seed", 1, "Seed of the generated data: the same seed gives the same data.")
	fl.DurationVar(&f.activity, "activity", 0, "Simulate helpdesk staff editing tickets at this interval (0: no activity).")
	fl.Float64Var(&f.rateLimit, "rate-limit", 0, "Answer requests beyond this many per second with the PSA's own 429 (0: no limit).")
	fl.DurationVar(&f.retryAfter, "retry-after", 0, "Retry-After sent with injected 429s (0: none).")
	fl.Float64Var(&f.errorRate, "error-rate", 0, "Fraction of requests answered with a 500.")
	fl.Float64Var(&f.dropHooks, "drop-webhooks", 0, "Fraction of webhook deliveries silently dropped.")
	fl.DurationVar(&f.clockSkew, "clock-skew", 0, "Run the PSA's clock this far ahead of the host's (negative: behind), "+
		"e.g. -10m: records are stamped, and answers dated, with it.")
	fl.StringArrayVar(&f.pageFaults, "page-fault", nil, "Corrupt chosen answers of a list endpoint, e.g. "+
		"'path=/service/tickets,page=3,body=null' (keys: path, page, times (0: every answer from page on), body "+
		"(empty, null, truncated, html, oversized, bigfield, wrongtype), size, field, record); repeatable.")
	fl.StringVar(&f.now, "now", "", "Anchor the generated timestamps at this RFC 3339 time instead of the start time: "+
		"the same --tickets, --seed and --now give the same data, timestamps included.")
	return cmd
}

// startedSandbox is a running emulator.
type startedSandbox struct {
	Emulator sandbox.Emulator
	World    *sandbox.World
	URL      string
	srv      *http.Server
}

// startSandbox generates a World and serves the provider's emulator on
// listen. Close it with stop.
func startSandbox(f sandboxFlags) (*startedSandbox, error) {
	var now time.Time
	if f.now != "" {
		var err error
		if now, err = time.Parse(time.RFC3339Nano, f.now); err != nil {
			return nil, &usageError{message: fmt.Sprintf("--now %q: want an RFC 3339 time", f.now),
				hint: "--now 2026-01-02T15:04:05Z"}
		}
	}
	world := sandbox.Generate(sandbox.GenOptions{Tickets: f.tickets, Seed: f.seed, Now: now})
	world.SetClockSkew(f.clockSkew)
	var pages []sandbox.PageFault
	for _, s := range f.pageFaults {
		pf, err := sandbox.ParsePageFault(s)
		if err != nil {
			return nil, &usageError{message: "--page-fault: " + err.Error(),
				hint: "--page-fault 'path=/service/tickets,page=3,body=null'"}
		}
		pages = append(pages, pf)
	}
	faults := sandbox.NewFaults(f.seed)
	faults.Set(sandbox.FaultSettings{RequestsPerSecond: f.rateLimit, RetryAfter: f.retryAfter,
		ErrorRate: f.errorRate, DropWebhooks: f.dropHooks, Pages: pages})
	em, err := sandbox.New(f.provider, sandbox.Options{World: world, Faults: faults})
	if err != nil {
		return nil, &usageError{message: err.Error(), hint: "reconciler sandbox --help"}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		em.Close()
		return nil, fmt.Errorf("sandbox: listen on %s: %w", f.listen, err)
	}
	srv := &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &startedSandbox{Emulator: em, World: world, URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (s *startedSandbox) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
	s.Emulator.Close()
}

func (m *Main) runSandbox(ctx context.Context, f sandboxFlags) error {
	s, err := startSandbox(f)
	if err != nil {
		return err
	}
	defer s.stop()
	writeSandboxBanner(m.Stdout, s, f)
	if f.activity > 0 {
		go s.World.Simulate(ctx, f.activity, f.seed, func(a sandbox.Activity) {
			fmt.Fprintf(m.Stdout, "%s  PSA: %s\n", time.Now().Format("15:04:05"), a.What)
		})
	}
	<-ctx.Done()
	return nil
}

func writeSandboxBanner(w io.Writer, s *startedSandbox, f sandboxFlags) {
	fmt.Fprintf(w, "Sandbox %s serving %d tickets (seed %d) at %s\n\n", f.provider, f.tickets, f.seed, s.URL)
	for _, pf := range f.pageFaults {
		fmt.Fprintf(w, "Page fault: %s\n", pf)
	}
	if len(f.pageFaults) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "horizon.yaml fragment:")
	fmt.Fprintln(w, indent(s.Emulator.ConfigFragment(s.URL), "  "))
	fmt.Fprintln(w, "Environment (credentials the sandbox accepts):")
	env := s.Emulator.Env()
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  export %s=%s\n", k, shellQuote(env[k]))
	}
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
