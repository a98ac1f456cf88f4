package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/reconcile"
)

func (m *Main) applyCommand() *cobra.Command {
	var file string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Make the PSA and the store match horizon.yaml",
		Long: "Apply plans as plan does, prints the plan, then applies it: registers, updates or removes " +
			"Horizon's webhooks in the PSA, binds and unbinds user mappings, creates missing picklist values " +
			"where the PSA's API allows and the file asks for it, refreshes the picklist database, records " +
			"widget checks, and runs the first sync (or the backfill of a widened ingest window). It prints " +
			"what it did. Apply is idempotent: a second apply changes nothing.\n\n" +
			"Drift that cannot be applied is reported, not hidden. suspend: true in the file stops every write " +
			"to the PSA.\n\n" +
			"Like Terraform, a plan with errors (items marked [error], such as a mapping to a helpdesk user that " +
			"does not exist) applies nothing: apply prints why and exits 1.",
		Example: "  reconciler apply -f horizon.yaml",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.apply(cmd.Context(), file, quiet)
		},
	}
	fileFlag(cmd, &file)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "No progress bar; log lines only.")
	return cmd
}

func (m *Main) apply(ctx context.Context, file string, quiet bool) error {
	a, closeStore, err := m.openAccount(ctx, file, accountOptions{progress: m.progressFor(quiet)})
	if err != nil {
		return err
	}
	defer closeStore()
	p, err := a.Reconciler.Plan(ctx)
	if err != nil {
		return err
	}
	if err := reconcile.WritePlan(m.Stdout, p, reconcile.FormatText); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout)
	res := a.Reconciler.Apply(ctx, p)
	if err := reconcile.WriteResult(m.Stdout, res); err != nil {
		return err
	}
	switch {
	case len(res.Refused) > 0:
		return errPlanErrors
	case res.Err() != nil:
		return fmt.Errorf("apply: %d %s failed", len(res.Failed), plural(len(res.Failed), "change", "changes"))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
