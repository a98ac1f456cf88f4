package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/metrics"
	"github.com/horizon/reconciler/internal/store"
	// The store backends register themselves with store.Open.
	_ "github.com/horizon/reconciler/internal/store/postgres"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
	"github.com/horizon/reconciler/internal/syncer"
)

// exitError ends the program with a given exit code after its message
// (if any) has been printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// loadConfig loads and validates a file, printing every diagnostic to
// stderr. An invalid file is errInvalid (exit 1).
func (m *Main) loadConfig(file string) (*config.Config, error) {
	cfg, diags, err := config.Load(file, config.LoadOptions{LookupEnv: m.lookupEnv()})
	if err != nil {
		fmt.Fprintf(m.Stderr, "reconciler: %v\n", err)
		return nil, errUnreadable
	}
	for _, d := range diags {
		fmt.Fprintln(m.Stderr, d.String())
	}
	if cfg == nil {
		return nil, errInvalid
	}
	return cfg, nil
}

// openStore opens the database the settings name.
func (m *Main) openStore(ctx context.Context) (store.Store, error) {
	st, err := store.Open(ctx, m.Settings.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// accountOptions tune openAccount.
type accountOptions struct {
	progress syncer.Progress
	metrics  *metrics.Metrics
	// rate overrides the PSA rate limit (see account.Options).
	rate float64
}

// openAccount loads the file, opens the store and wires the account. The
// returned close releases the store.
func (m *Main) openAccount(ctx context.Context, file string, o accountOptions) (*account.Account, func(), error) {
	cfg, err := m.loadConfig(file)
	if err != nil {
		return nil, nil, err
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	if o.metrics == nil {
		o.metrics = metrics.New(prometheus.NewRegistry())
	}
	a, err := account.New(ctx, cfg, account.Options{Store: st, Metrics: o.metrics, Logger: m.Logger,
		Progress: o.progress, RatePerSecond: o.rate})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, func() { st.Close() }, nil
}

// isTerminal reports whether w is a terminal (progress bars, colours).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("CI") == ""
}

// progressFor picks a progress bar on a terminal and log lines elsewhere.
func (m *Main) progressFor(quiet bool) syncer.Progress {
	if !quiet && isTerminal(m.Stderr) {
		return syncer.NewTerminalProgress(m.Stderr)
	}
	return syncer.NewLogProgress(m.Logger, 10)
}

var errPlanErrors = errors.New("the plan has errors")

// checkOutput rejects an --output value the command does not know.
func checkOutput(cmd *cobra.Command, output string, allowed ...string) error {
	if slices.Contains(allowed, output) {
		return nil
	}
	return &usageError{message: fmt.Sprintf("--output %q: want %s", output, strings.Join(allowed, " or ")),
		hint: cmd.CommandPath() + " --help"}
}
