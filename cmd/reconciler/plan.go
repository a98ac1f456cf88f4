package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/reconcile"
)

func (m *Main) planCommand() *cobra.Command {
	var files accountFiles
	var output string
	var detailed bool
	cmd := &cobra.Command{
		Use:   "plan -f FILE [--output text|json|markdown] [--detailed-exitcode]",
		Short: "Show what apply would change in the PSA and the store",
		Long: "Plan observes the PSA over its API and the local store, compares them with horizon.yaml and prints " +
			"the differences grouped by kind (webhook registrations, user mappings, picklists, widgets, sync " +
			"settings), then a summary line. Drift that apply cannot fix (a value the PSA's API cannot create, a " +
			"widget that is down, a section in drift mode warn) is listed too. Plan writes nothing.\n\n" +
			filesHelp + ": each file is one account, planned in turn with its own PSA client under a heading " +
			"(== account NAME (PROVIDER, FILE)), then one summary line; -o json gives one document " +
			"{\"accounts\": [{file, account, provider, exitStatus, error, diagnostics, plan}], \"exitStatus\"}. An " +
			"invalid file, or an account that fails, is reported and does not stop the others. --account NAME plans " +
			"only that account, as for one file.\n\n" +
			"Exit status: 0 success; 1 the file is invalid, or the plan has errors (such as a mapping to a " +
			"helpdesk user that does not exist); 2 a usage error or a file that cannot be read; 3 any other " +
			"failure (the PSA or the database unreachable). With --detailed-exitcode, Terraform's contract " +
			"instead: 0 nothing to change, 2 changes, 1 every failure. With several accounts, the highest status " +
			"of any account (with --detailed-exitcode: 1 if any account failed, else 2 if any has changes, else 0).",
		Example: "  reconciler plan -f horizon.yaml\n" +
			"  reconciler plan -f horizon.yaml --output markdown > plan.md\n" +
			"  reconciler plan -f horizon.yaml --detailed-exitcode\n" +
			"  reconciler plan -f accounts/\n" +
			"  reconciler plan accounts/acme.yaml accounts/beta.yaml -o json",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkPlanFormat(output); err != nil {
				return err
			}
			return m.plan(cmd.Context(), files, output, detailed)
		},
	}
	accountFlags(cmd, &files)
	cmd.Flags().StringVarP(&output, "output", "o", reconcile.FormatText, "Output format: text, json or markdown (for a pull-request comment).")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "Exit 0 when there are no changes, 2 when there are, 1 on errors (Terraform's contract).")
	return cmd
}

func checkPlanFormat(output string) error {
	switch output {
	case reconcile.FormatText, reconcile.FormatJSON, reconcile.FormatMarkdown:
		return nil
	}
	return &usageError{message: fmt.Sprintf("--output %q: want text, json or markdown", output), hint: "reconciler plan --help"}
}

// errHasChanges marks a successful plan with changes (--detailed-exitcode).
var errHasChanges = &exitError{code: 2}

// plan plans the account af names, or each of several.
func (m *Main) plan(ctx context.Context, af accountFiles, output string, detailed bool) error {
	do := func(ctx context.Context, a *account.Account, w io.Writer) error {
		return planAccount(ctx, a, w, output, detailed)
	}
	if af.many() && af.account == "" {
		return m.eachAccount(ctx, af, eachOptions{verb: "planned", format: output, detailed: detailed}, do)
	}
	a, closeStore, err := m.openAccount(ctx, af, accountOptions{})
	if err != nil {
		return err
	}
	defer closeStore()
	return do(ctx, a, m.Stdout)
}

// planAccount plans one account and writes the plan to w.
func planAccount(ctx context.Context, a *account.Account, w io.Writer, output string, detailed bool) error {
	p, err := a.Reconciler.Plan(ctx)
	if err != nil {
		return err
	}
	if err := reconcile.WritePlan(w, p, output); err != nil {
		return err
	}
	switch {
	case p.HasErrors():
		return errPlanErrors
	case detailed && p.HasChanges():
		return errHasChanges
	}
	return nil
}

// detailedExit maps plan outcomes to Terraform's codes: 0, 2, or 1.
func detailedExit(err error) error {
	var exit *exitError
	if err == nil || err == errHasChanges || (errors.As(err, &exit) && exit.code == 1) {
		return err
	}
	return &exitError{code: 1, err: err}
}
