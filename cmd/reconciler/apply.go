package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/reconcile"
)

func (m *Main) applyCommand() *cobra.Command {
	var files accountFiles
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
			"does not exist) applies nothing: apply prints why and exits 1.\n\n" +
			filesHelp + ": each file is one account, applied in turn with its own PSA client under a heading " +
			"(== account NAME (PROVIDER, FILE)), then one summary line. An invalid file, or an account that fails " +
			"or whose plan has errors, is reported and does not stop the others; the exit status is then the " +
			"highest of any account's. --account NAME applies only that account, as for one file.",
		Example: "  reconciler apply -f horizon.yaml\n" +
			"  reconciler apply -f accounts/\n" +
			"  reconciler apply -f accounts/ --account acme-msp",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.apply(cmd.Context(), files, quiet)
		},
	}
	accountFlags(cmd, &files)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "No progress bar; log lines only.")
	return cmd
}

// apply applies the account af names, or each of several.
func (m *Main) apply(ctx context.Context, af accountFiles, quiet bool) error {
	o := accountOptions{progress: m.progressFor(quiet)}
	if af.many() && af.account == "" {
		return m.eachAccount(ctx, af, eachOptions{verb: "applied", format: reconcile.FormatText, account: o}, applyAccount)
	}
	a, closeStore, err := m.openAccount(ctx, af, o)
	if err != nil {
		return err
	}
	defer closeStore()
	return applyAccount(ctx, a, m.Stdout)
}

// applyAccount plans one account, writes the plan to w, applies it and
// writes what it did.
func applyAccount(ctx context.Context, a *account.Account, w io.Writer) error {
	p, err := a.Reconciler.Plan(ctx)
	if err != nil {
		return err
	}
	if err := reconcile.WritePlan(w, p, reconcile.FormatText); err != nil {
		return err
	}
	fmt.Fprintln(w)
	res := a.Reconciler.Apply(ctx, p)
	if err := reconcile.WriteResult(w, res); err != nil {
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
