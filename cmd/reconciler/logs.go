package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/syncer"
)

func (m *Main) logsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the audit trails: the sync run log, the callback log and the write log",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(m.logsSyncCommand(), m.logsCallbacksCommand(), m.logsWritesCommand())
	return cmd
}

// logFilters are the flags every log command shares.
type logFilters struct {
	files         accountFiles
	since, output string
	failed        bool
	limit         int
}

func (f *logFilters) bind(cmd *cobra.Command) {
	accountFlags(cmd, &f.files)
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "Only entries from the last D (e.g. 30m, 2h, 7d).")
	fl.BoolVar(&f.failed, "failed", false, "Only failed entries.")
	fl.StringVarP(&f.output, "output", "o", "text", "Output format: text or json.")
	fl.IntVar(&f.limit, "limit", 100, "At most this many entries, newest first.")
}

func (f *logFilters) sinceTime() (time.Time, error) {
	if f.since == "" {
		return time.Time{}, nil
	}
	d, err := config.ParseDuration(f.since)
	if err != nil {
		return time.Time{}, &usageError{message: fmt.Sprintf("--since %q: %v", f.since, err), hint: "--since 2h"}
	}
	return time.Now().Add(-d.Std()), nil
}

// storeFor loads the account only for its account and provider, and opens
// the store: the audit commands read the store and need no PSA
// credentials.
func (m *Main) storeFor(ctx context.Context, af accountFiles) (store.Store, store.Scope, error) {
	cfg, err := m.loadAccount(af)
	if err != nil {
		return nil, store.Scope{}, err
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return nil, store.Scope{}, err
	}
	return st, store.Scope{Account: cfg.Account.Name, Provider: string(cfg.Helpdesk.Provider)}, nil
}

func (m *Main) logsSyncCommand() *cobra.Command {
	var f logFilters
	var entity, trigger string
	cmd := &cobra.Command{
		Use:   "sync -f FILE [--entity E] [--trigger T] [--since D] [--failed] [-o json]",
		Short: "List sync runs, newest first",
		Long: "Lists every sync operation Horizon has run: trigger (backfill, poll, callback, manual, reconcile), entity, " +
			"start, duration, records created, updated, unchanged, failed and skipped (named under the table), the " +
			"result (ok; failed; cancelled: stopped by a shutdown; interrupted: its process died, with the counts it " +
			"committed) and the error. --failed shows failed and interrupted runs.",
		Example: "  reconciler logs sync -f horizon.yaml --since 2h\n  reconciler logs sync -f horizon.yaml --failed -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, f.output, "text", "json"); err != nil {
				return err
			}
			if err := checkEnum(cmd, "entity", entity, syncEntities); err != nil {
				return err
			}
			if err := checkEnum(cmd, "trigger", trigger, syncTriggers); err != nil {
				return err
			}
			since, err := f.sinceTime()
			if err != nil {
				return err
			}
			return m.logsSync(cmd.Context(), f, store.SyncRunFilter{Entity: helpdesk.Entity(entity), Trigger: trigger,
				Since: since, FailedOnly: f.failed, Limit: f.limit})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&entity, "entity", "", "Only runs of this entity: "+strings.Join(syncEntities, ", ")+".")
	cmd.Flags().StringVar(&trigger, "trigger", "", "Only runs with this trigger: "+strings.Join(syncTriggers, ", ")+".")
	return cmd
}

func (m *Main) logsSync(ctx context.Context, f logFilters, filter store.SyncRunFilter) error {
	st, scope, err := m.storeFor(ctx, f.files)
	if err != nil {
		return err
	}
	defer st.Close()
	runs, err := syncer.ListRuns(ctx, st, scope, filter)
	if err != nil {
		return err
	}
	return syncer.WriteRuns(m.Stdout, runs, f.output)
}

func (m *Main) logsCallbacksCommand() *cobra.Command {
	var f logFilters
	var ticket, result string
	cmd := &cobra.Command{
		Use:   "callbacks -f FILE [--ticket ID] [--result R] [--since D] [--failed] [-o json]",
		Short: "List the callback log, newest first",
		Long: "Lists every inbound webhook Horizon has received: when, the event, the external IDs it names, " +
			"whether it verified, the processing result and any failure, and an excerpt of the payload (-o json). " +
			"--ticket finds every callback about one ticket's external ID.",
		Example: "  reconciler logs callbacks -f horizon.yaml --ticket 4711\n" +
			"  reconciler logs callbacks -f horizon.yaml --failed --since 1h",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, f.output, "text", "json"); err != nil {
				return err
			}
			since, err := f.sinceTime()
			if err != nil {
				return err
			}
			if err := checkEnum(cmd, "result", result, callbackResults); err != nil {
				return err
			}
			return m.logsCallbacks(cmd.Context(), f, store.CallbackFilter{ExternalID: ticket, Since: since,
				FailedOnly: f.failed, Result: result, Limit: f.limit})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&ticket, "ticket", "", "Only callbacks about the record with this external ID.")
	cmd.Flags().StringVar(&result, "result", "", "Only callbacks with this result: "+strings.Join(callbackResults, ", ")+".")
	return cmd
}

func (m *Main) logsCallbacks(ctx context.Context, f logFilters, filter store.CallbackFilter) error {
	st, scope, err := m.storeFor(ctx, f.files)
	if err != nil {
		return err
	}
	defer st.Close()
	recs, err := st.Callbacks(ctx, scope, filter)
	if err != nil {
		return fmt.Errorf("read callback log: %w", err)
	}
	return callback.WriteLog(m.Stdout, recs, f.output)
}
