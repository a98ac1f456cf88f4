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

// accountFiles are what -f and --account name: the account files (a
// file, a directory of account files, or several) and which account of
// them a one-account command uses.
type accountFiles struct {
	paths   []string
	account string
}

// oneFile names the account of one file.
func oneFile(path string) accountFiles { return accountFiles{paths: []string{path}} }

// many reports whether the paths may hold several accounts: a directory
// or several files.
func (af accountFiles) many() bool {
	return len(af.paths) > 1 || (len(af.paths) == 1 && config.IsDir(af.paths[0]))
}

// flag is how the command line named the files, for messages.
func (af accountFiles) flag() string { return "-f " + strings.Join(af.paths, " ") }

// loadAccount loads the one account af names, printing the diagnostics of
// its file to stderr. One file is loaded as loadConfig does (--account,
// when given, must be its name); several files or a directory need
// --account unless they hold a single account. An invalid file is
// errInvalid (exit 1); --account missing, unknown or not the file's is a
// usage error (exit 2) naming the accounts there are.
func (m *Main) loadAccount(af accountFiles) (*config.Config, error) {
	if !af.many() {
		cfg, err := m.loadConfig(af.paths[0])
		if err != nil {
			return nil, err
		}
		if af.account != "" && cfg.Account.Name != af.account {
			return nil, &usageError{message: fmt.Sprintf("--account %s: %s holds account %s", af.account, af.paths[0], cfg.Account.Name),
				hint: "--account " + cfg.Account.Name}
		}
		return cfg, nil
	}
	set, err := config.LoadSet(af.paths, config.LoadOptions{LookupEnv: m.lookupEnv()})
	if err != nil {
		fmt.Fprintf(m.Stderr, "reconciler: %v\n", err)
		return nil, errUnreadable
	}
	file := ""
	switch {
	case af.account != "":
		cfg := set.Account(af.account)
		if cfg == nil {
			return nil, m.unknownAccount(af, set)
		}
		file = cfg.File
	case len(set.Files) == 1:
		file = set.Files[0]
	default:
		return nil, &usageError{message: fmt.Sprintf("%s %s %d accounts (%s): choose one with --account", af.flag(),
			holds(af.paths), len(set.Files), strings.Join(accountNames(set), ", ")), hint: accountHint(set)}
	}
	for _, d := range fileDiagnostics(set, file) {
		fmt.Fprintln(m.Stderr, d.String())
	}
	cfg := setConfig(set, file)
	if cfg == nil {
		return nil, errInvalid
	}
	return cfg, nil
}

// unknownAccount is the usage error of an --account the files do not hold
// (or hold only in an invalid file: it prints the invalid files'
// diagnostics).
func (m *Main) unknownAccount(af accountFiles, set *config.Set) error {
	names := accountNames(set)
	msg := fmt.Sprintf("--account %s: %s %s no such account; ", af.account, af.flag(), holds(af.paths))
	if len(set.Files) == 1 {
		msg += "it holds " + names[0]
	} else {
		msg += fmt.Sprintf("it holds %d accounts (%s)", len(set.Files), strings.Join(names, ", "))
	}
	invalid := false
	for _, f := range set.Files {
		if setConfig(set, f) != nil {
			continue
		}
		invalid = true
		for _, d := range fileDiagnostics(set, f) {
			fmt.Fprintln(m.Stderr, d.String())
		}
	}
	if invalid {
		msg += "; an invalid file may hold it: fix that first (its problems are above)"
	}
	return &usageError{message: msg, hint: accountHint(set)}
}

// accountNames lists each file of set by its account's name, or as
// "FILE (invalid)" when it has no valid account of its own.
func accountNames(set *config.Set) []string {
	names := make([]string, 0, len(set.Files))
	for _, f := range set.Files {
		if c := setConfig(set, f); c != nil {
			names = append(names, c.Account.Name)
		} else {
			names = append(names, f+" (invalid)")
		}
	}
	return names
}

// accountHint suggests --account with the first valid account.
func accountHint(set *config.Set) string {
	if len(set.Configs) == 0 {
		return "reconciler validate " + strings.Join(set.Files, " ")
	}
	return "--account " + set.Configs[0].Account.Name
}

// holds is "holds" after one path and "hold" after several.
func holds(paths []string) string {
	if len(paths) == 1 {
		return "holds"
	}
	return "hold"
}

// accountOptions tune openAccount.
type accountOptions struct {
	progress syncer.Progress
	metrics  *metrics.Metrics
	// rate overrides the PSA rate limit (see account.Options).
	rate float64
}

// openAccount loads the account af names, opens the store and wires the
// account. The returned close releases the store.
func (m *Main) openAccount(ctx context.Context, af accountFiles, o accountOptions) (*account.Account, func(), error) {
	cfg, err := m.loadAccount(af)
	if err != nil {
		return nil, nil, err
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	a, err := m.newAccount(ctx, st, cfg, o)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, func() { st.Close() }, nil
}

// newAccount wires the account of cfg to st, with its own PSA client.
func (m *Main) newAccount(ctx context.Context, st store.Store, cfg *config.Config, o accountOptions) (*account.Account, error) {
	if o.metrics == nil {
		o.metrics = metrics.New(prometheus.NewRegistry())
	}
	return account.New(ctx, cfg, account.Options{Store: st, Metrics: o.metrics, Logger: m.Logger,
		Progress: o.progress, RatePerSecond: o.rate})
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
