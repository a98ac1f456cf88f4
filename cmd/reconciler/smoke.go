package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/smoke"
	"github.com/horizon/reconciler/internal/store"
)

type smokeFlags struct {
	files   accountFiles
	output  string
	timeout time.Duration
	keep    bool
}

func (m *Main) smokeCommand() *cobra.Command {
	var f smokeFlags
	cmd := &cobra.Command{
		Use:   "smoke -f FILE [--timeout 3m] [-o text|json] [--keep]",
		Short: "Check both directions end to end: a test ticket from the PSA to Horizon, and changes back",
		Long: "Smoke runs the seed's verification against the real PSA of the file, each step timed: check the " +
			"connection and credentials (as plan does); create a test ticket in the PSA; watch it land in Horizon " +
			"by callback within smoke.callbackTimeout (or say plainly that callbacks are not reaching Horizon, and " +
			"whether polling brought it); change its status from Horizon through the write-back outbox and read it " +
			"back from the PSA; add an internal note as a mapped Horizon user and read back its author; assign it " +
			"to that user and read it back; log a quarter hour when time entries are synced; close it (unless " +
			"--keep), also after a failure.\n\n" +
			"With a daemon running (reconciler run), it receives the callback and delivers the writes; without one, " +
			"no callback can land, so the command says so, polls once itself and delivers its writes itself.\n\n" +
			"Exit status: 0 every step passed; 1 a step failed (the first failure is named with the page or " +
			"command to check next), or the file is invalid; 2 a usage error or a file that cannot be read; 3 the " +
			"test could not run (the database unreachable).",
		Example: "  reconciler smoke -f horizon.yaml\n  reconciler smoke -f horizon.yaml -o json --timeout 5m\n" +
			"  reconciler smoke -f horizon.yaml --keep",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, f.output, smoke.FormatText, smoke.FormatJSON); err != nil {
				return err
			}
			if f.timeout <= 0 {
				return &usageError{message: "--timeout must be positive", hint: "--timeout 3m"}
			}
			return m.smoke(cmd.Context(), f)
		},
	}
	accountFlags(cmd, &f.files)
	fl := cmd.Flags()
	fl.DurationVar(&f.timeout, "timeout", 3*time.Minute, "Give up after this long; clean-up still runs.")
	fl.StringVarP(&f.output, "output", "o", smoke.FormatText, "Output format: text (a table) or json.")
	fl.BoolVar(&f.keep, "keep", false, "Leave the test ticket open (to look at it in the PSA).")
	return cmd
}

// smoke runs the smoke test and prints its report.
func (m *Main) smoke(ctx context.Context, f smokeFlags) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	a, closeStore, err := m.openAccount(ctx, f.files, accountOptions{})
	if err != nil {
		return err
	}
	defer closeStore()
	daemon, release, err := m.smokeLease(ctx, a)
	if err != nil {
		return &exitError{code: ExitFailure, err: err}
	}
	defer release()
	// Wait for the daemon's next poll (sync.pollInterval and a minute), but
	// leave time for the write steps after waiting for callbacks and polls.
	pollWait := min(a.Config.Sync.PollInterval.Std()+time.Minute,
		max(f.timeout-a.Config.Smoke.CallbackTimeout.Std()-time.Minute, 10*time.Second))
	rep, err := smoke.Run(ctx, smoke.Options{Provider: a.Provider, Store: a.Store, Scope: a.Scope, Config: a.Config,
		Writer: smoke.AccountWriter(a, !daemon), Syncer: a.Syncer, Daemon: daemon, Keep: f.keep, File: a.Config.File, Webhooks: a.WebhookSpec(),
		Logger: m.Logger, PollWait: pollWait})
	if err != nil {
		return &exitError{code: ExitFailure, err: err}
	}
	if err := rep.Write(m.Stdout, f.output); err != nil {
		return err
	}
	if !rep.Passed() {
		return &exitError{code: ExitInvalid}
	}
	return nil
}

// smokeLease tells whether a daemon leads the account. When none does,
// this process takes the account's lease for the run (it delivers its own
// writes, and no daemon starting meanwhile delivers them twice) and keeps
// it until release.
func (m *Main) smokeLease(ctx context.Context, a *account.Account) (daemon bool, release func(), err error) {
	host, _ := os.Hostname()
	holder := fmt.Sprintf("cli-smoke:%s/%d", host, os.Getpid())
	name := account.LeaseName(a.Config)
	const ttl = 30 * time.Second
	_, err = a.Store.AcquireLease(ctx, name, holder, ttl)
	if errors.Is(err, store.ErrLeaseHeld) {
		return true, func() {}, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("take the account's lease: %w", err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { // renew while the test runs
		defer close(done)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-tick.C:
				if _, err := a.Store.AcquireLease(rctx, name, holder, ttl); err != nil {
					m.Logger.Warn("smoke: renew the account's lease", "err", err)
				}
			}
		}
	}()
	return false, func() {
		stop()
		<-done
		a.Store.ReleaseLease(context.WithoutCancel(ctx), name, holder)
	}, nil
}
