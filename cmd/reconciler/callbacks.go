package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/reconcile"
)

func (m *Main) callbacksCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "callbacks",
		Short: "Inbound webhook health (the Helpdesk Callback Status page)",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var files accountFiles
	var output string
	status := &cobra.Command{
		Use:   "status -f FILE [-o json]",
		Short: "Show callback health and the PSA's webhook configuration as Horizon sees it",
		Long: "Status gives a verdict first: ok when a verified callback arrived within callbacks.staleAfter and " +
			"the PSA's webhooks could be read; stale when none did; unknown when the PSA's webhooks cannot be read " +
			"(each wanted webhook is then shown as unknown, never as missing). It exits 1 unless the verdict is ok.\n\n" +
			"It shows when the last callback arrived, how many arrived in the last hour by result, recent " +
			"failures and their reasons, and the PSA's webhook registrations (URL with secrets redacted, events, " +
			"enabled, whether Horizon manages them) compared with the file. If callbacks are failing or absent, " +
			"the polling sync keeps Horizon mostly current, but fix the callbacks: polling is a safety net.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, output, "text", "json"); err != nil {
				return err
			}
			return m.callbackStatus(cmd.Context(), files, output)
		},
	}
	accountFlags(status, &files)
	status.Flags().StringVarP(&output, "output", "o", "text", "Output format: text or json.")
	cmd.AddCommand(status)
	return cmd
}

func (m *Main) callbackStatus(ctx context.Context, af accountFiles, output string) error {
	a, closeStore, err := m.openAccount(ctx, af, accountOptions{})
	if err != nil {
		return err
	}
	defer closeStore()
	rep, err := callback.Status(ctx, a.Store, a.Scope, a.Provider, a.WebhookSpec())
	if err != nil {
		return err
	}
	rep.Judge(staleAfter(a.Config))
	if err := callback.WriteStatus(m.Stdout, rep, output); err != nil {
		return err
	}
	if !rep.Healthy() {
		return &exitError{code: ExitInvalid, err: fmt.Errorf("callbacks %s: %s", rep.Verdict, rep.VerdictReason)}
	}
	return nil
}

// staleAfter is the file's callbacks.staleAfter; zero when the file
// declares no callbacks.
func staleAfter(cfg *config.Config) time.Duration {
	if cfg.Callbacks == nil {
		return 0
	}
	return cfg.Callbacks.StaleAfter.Std()
}

func (m *Main) widgetsCommand() *cobra.Command {
	var files accountFiles
	var output string
	var check bool
	cmd := &cobra.Command{
		Use:   "widgets -f FILE [--check] [-o json]",
		Short: "Show widget health (the Helpdesk Widget Status page)",
		Long: "Widgets shows, for each dashboard and ticket widget the file lists, whether it loaded at the last " +
			"check, the last successful render and the last error. --check loads every widget URL now and records " +
			"the result. A widget is up when its URL answers 2xx with HTML within its timeout, its X-Frame-Options and " +
			"Content-Security-Policy frame-ancestors let the PSA's pages frame it, and it contains the widget's expect " +
			"text, if set. Widgets removed from the file are not shown.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, output, "text", "json"); err != nil {
				return err
			}
			return m.widgets(cmd.Context(), files, output, check)
		},
	}
	accountFlags(cmd, &files)
	cmd.Flags().BoolVar(&check, "check", false, "Check every widget now before showing.")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "Output format: text or json.")
	return cmd
}

func (m *Main) widgets(ctx context.Context, af accountFiles, output string, check bool) error {
	a, closeStore, err := m.openAccount(ctx, af, accountOptions{})
	if err != nil {
		return err
	}
	defer closeStore()
	if check {
		for _, w := range a.Config.Widgets {
			c := a.Reconciler.CheckWidget(ctx, w)
			if err := a.Store.RecordWidgetCheck(ctx, a.Scope, c); err != nil {
				return fmt.Errorf("record widget check: %w", err)
			}
		}
	}
	stored, err := a.Store.WidgetChecks(ctx, a.Scope)
	if err != nil {
		return fmt.Errorf("read widget checks: %w", err)
	}
	checks := reconcile.FileWidgets(a.Config, stored)
	if output == "json" {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(checks)
	}
	if len(checks) == 0 {
		_, err := fmt.Fprintln(m.Stdout, "The file lists no widgets.")
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WIDGET\tSTATUS\tCHECKED\tLAST SUCCESS\tLAST ERROR\tURL")
	for _, c := range checks {
		state := "down"
		switch {
		case c.Up:
			state = "up"
		case c.CheckedAt.IsZero():
			state = "not checked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, state, stamp(c.CheckedAt), stamp(c.LastSuccess),
			dashIfEmpty(c.LastError), helpdesk.RedactURL(c.URL))
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
