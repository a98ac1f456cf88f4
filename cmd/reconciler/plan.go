package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/reconcile"
)

func (m *Main) planCommand() *cobra.Command {
	var file, output string
	var detailed bool
	cmd := &cobra.Command{
		Use:   "plan -f FILE [--output text|json|markdown] [--detailed-exitcode]",
		Short: "Show what apply would change in the PSA and the store",
		Long: "Plan observes the PSA over its API and the local store, compares them with horizon.yaml and prints " +
			"the differences grouped by kind (webhook registrations, user mappings, picklists, widgets, sync " +
			"settings), then a summary line. Drift that apply cannot fix (a value the PSA's API cannot create, a " +
			"widget that is down, a section in drift mode warn) is listed too. Plan writes nothing.\n\n" +
			"Exit status: 0 success; 1 the file is invalid, or the plan has errors (such as a mapping to a " +
			"helpdesk user that does not exist); 2 a usage error or a file that cannot be read; 3 any other " +
			"failure (the PSA or the database unreachable). With --detailed-exitcode, Terraform's contract " +
			"instead: 0 nothing to change, 2 changes, 1 every failure.",
		Example: "  reconciler plan -f horizon.yaml\n" +
			"  reconciler plan -f horizon.yaml --output markdown > plan.md\n" +
			"  reconciler plan -f horizon.yaml --detailed-exitcode",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkPlanFormat(output); err != nil {
				return err
			}
			return m.plan(cmd.Context(), file, output, detailed)
		},
	}
	fileFlag(cmd, &file)
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

func (m *Main) plan(ctx context.Context, file, output string, detailed bool) error {
	a, closeStore, err := m.openAccount(ctx, file, accountOptions{})
	if err != nil {
		return err
	}
	defer closeStore()
	p, err := a.Reconciler.Plan(ctx)
	if err != nil {
		return err
	}
	if err := reconcile.WritePlan(m.Stdout, p, output); err != nil {
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
