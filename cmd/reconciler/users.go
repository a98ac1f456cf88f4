package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

func (m *Main) usersCommand() *cobra.Command {
	var file, output string
	cmd := &cobra.Command{
		Use:   "users -f FILE [-o json]",
		Short: "List helpdesk users and their Horizon mappings (the User Mapping page)",
		Long: "Users lists every helpdesk user Horizon has synced, active first, with the Horizon user each is " +
			"mapped to. Active users without a mapping are marked: map them in userMappings (the unmapped " +
			"policy decides whether they are a warning or an error). New helpdesk users appear after the next " +
			"sync without any action.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, output, "text", "json"); err != nil {
				return err
			}
			return m.users(cmd.Context(), file, output)
		},
	}
	fileFlag(cmd, &file)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "Output format: text or json.")
	return cmd
}

// userRow is one line of the user mapping page.
type userRow struct {
	ExternalID  string `json:"externalId"`
	Identifier  string `json:"identifier,omitempty"`
	Name        string `json:"name"`
	Email       string `json:"email,omitempty"`
	Active      bool   `json:"active"`
	HorizonUser string `json:"horizonUser,omitempty"`
}

func (m *Main) users(ctx context.Context, file, output string) error {
	st, scope, err := m.storeFor(ctx, file)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := userRows(ctx, st, scope)
	if err != nil {
		return err
	}
	if output == "json" {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return writeUsers(m, rows)
}

func userRows(ctx context.Context, st store.Store, scope store.Scope) ([]userRow, error) {
	members, err := st.Members(ctx, scope)
	if err != nil {
		return nil, fmt.Errorf("read helpdesk users: %w", err)
	}
	maps, err := st.UserMappings(ctx, scope)
	if err != nil {
		return nil, fmt.Errorf("read user mappings: %w", err)
	}
	mapped := map[string]string{}
	for _, um := range maps {
		mapped[um.HelpdeskUserID] = um.HorizonUser
	}
	rows := make([]userRow, 0, len(members))
	for _, mem := range members {
		rows = append(rows, rowOf(mem, mapped[mem.ExternalID]))
	}
	slices.SortStableFunc(rows, func(a, b userRow) int {
		if a.Active != b.Active {
			if a.Active {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return rows, nil
}

func rowOf(mem helpdesk.Member, horizon string) userRow {
	return userRow{ExternalID: mem.ExternalID, Identifier: mem.Identifier, Name: mem.Name, Email: mem.Email,
		Active: mem.Active, HorizonUser: horizon}
}

func writeUsers(m *Main, rows []userRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(m.Stdout, "No helpdesk users synced yet: run reconciler sync (or apply) first.")
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLOGIN\tNAME\tEMAIL\tACTIVE\tHORIZON USER")
	unmapped := 0
	for _, r := range rows {
		h := r.HorizonUser
		if h == "" && r.Active {
			h, unmapped = "UNMAPPED", unmapped+1
		} else if h == "" {
			h = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", r.ExternalID, dashIfEmpty(r.Identifier), r.Name, dashIfEmpty(r.Email), r.Active, h)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(m.Stdout, "\n%d users, %d active unmapped.\n", len(rows), unmapped)
	return err
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
