package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/helpdesk"
)

func (m *Main) picklistsCommand() *cobra.Command {
	var files accountFiles
	var output string
	cmd := &cobra.Command{
		Use:   "picklists -f FILE [-o json]",
		Short: "Show the picklist database (statuses, types, priorities, queues, departments)",
		Long: "Picklists shows the local mirror of the helpdesk's picklists that rules rely on, with every value " +
			"and when the database was last refreshed. It refreshes on the file's picklistRefreshInterval; " +
			"picklists refresh forces a refresh now, after adding statuses or queues in the helpdesk.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, output, "text", "json"); err != nil {
				return err
			}
			return m.picklists(cmd.Context(), files, output)
		},
	}
	accountFlags(cmd, &files)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "Output format: text or json.")
	cmd.AddCommand(m.picklistsRefreshCommand())
	return cmd
}

func (m *Main) picklistsRefreshCommand() *cobra.Command {
	var files accountFiles
	cmd := &cobra.Command{
		Use:   "refresh -f FILE",
		Short: "Refresh the picklist database from the helpdesk now",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, closeStore, err := m.openAccount(ctx, files, accountOptions{})
			if err != nil {
				return err
			}
			defer closeStore()
			run, err := a.Syncer.RefreshPicklists(ctx)
			if err != nil {
				return fmt.Errorf("refresh picklists: %w", err)
			}
			fmt.Fprintf(m.Stdout, "Picklist database refreshed: %d added, %d changed, %d unchanged.\n", run.Created, run.Updated, run.Unchanged)
			return nil
		},
	}
	accountFlags(cmd, &files)
	return cmd
}

func (m *Main) picklists(ctx context.Context, af accountFiles, output string) error {
	st, scope, err := m.storeFor(ctx, af)
	if err != nil {
		return err
	}
	defer st.Close()
	pls, at, err := st.Picklists(ctx, scope)
	if err != nil {
		return fmt.Errorf("read picklist database: %w", err)
	}
	if output == "json" {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			RefreshedAt time.Time           `json:"refreshedAt,omitzero"`
			Picklists   []helpdesk.Picklist `json:"picklists"`
		}{at, pls})
	}
	if len(pls) == 0 {
		_, err := fmt.Fprintln(m.Stdout, "The picklist database is empty: run reconciler picklists refresh (or apply) first.")
		return err
	}
	fmt.Fprintf(m.Stdout, "Picklist database, refreshed %s\n\n", at.Format(time.RFC3339))
	tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSCOPE\tID\tVALUE\tACTIVE\tCLOSED\tDEFAULT")
	for _, p := range pls {
		for _, v := range p.Values {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\t%v\n", p.Kind, dashIfEmpty(p.Scope), v.ID, v.Name, v.Active, v.Closed, v.Default)
		}
	}
	return tw.Flush()
}
