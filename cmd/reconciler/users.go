package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/providers"
	"github.com/horizon/reconciler/internal/store"
)

func (m *Main) usersCommand() *cobra.Command {
	var files accountFiles
	var output string
	cmd := &cobra.Command{
		Use:   "users -f FILE [-o json]",
		Short: "List helpdesk users and their Horizon mappings (the User Mapping page)",
		Long: "Users lists every helpdesk user Horizon has synced, active first, with the Horizon user each is " +
			"mapped to. Active users without a mapping are marked: map them in userMappings (the unmapped " +
			"policy decides whether they are a warning or an error). Horizon's own API user (asked of the PSA " +
			"with one request) and the users userMappings.ignore names are marked as such and never count as " +
			"unmapped. New helpdesk users appear after the next sync without any action.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, output, "text", "json"); err != nil {
				return err
			}
			return m.users(cmd.Context(), files, output)
		},
	}
	accountFlags(cmd, &files)
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
	// NotTechnician says why an unmapped user does not count as unmapped:
	// "api user" (Horizon's own) or "ignored" (userMappings.ignore).
	NotTechnician string `json:"notTechnician,omitempty"`
}

func (m *Main) users(ctx context.Context, af accountFiles, output string) error {
	cfg, err := m.loadAccount(af)
	if err != nil {
		return err
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	scope := store.Scope{Account: cfg.Account.Name, Provider: string(cfg.Helpdesk.Provider)}
	rows, err := userRows(ctx, st, scope)
	if err != nil {
		return err
	}
	markNotTechnicians(rows, m.apiUserID(ctx, cfg), cfg.UserMappings.Ignore)
	if output == "json" {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return writeUsers(m, rows)
}

// apiUserID asks the PSA which user Horizon's credentials act as. When it
// cannot tell, the user shows as any other and a note on stderr says why.
func (m *Main) apiUserID(ctx context.Context, cfg *config.Config) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	prov, err := providers.New(ctx, cfg.Helpdesk, providers.Options{Logger: m.Logger})
	var mem helpdesk.Member
	if err == nil {
		mem, err = prov.APIUser(ctx)
	}
	switch {
	case errors.Is(err, helpdesk.ErrUnsupported):
		return ""
	case err != nil:
		fmt.Fprintf(m.Stderr, "reconciler: could not ask the PSA for Horizon's API user (%v); it shows as any other user\n", err)
		return ""
	}
	return mem.ExternalID
}

// markNotTechnicians marks Horizon's API user and the ignored users.
func markNotTechnicians(rows []userRow, apiUserID string, ignore []config.ID) {
	for i := range rows {
		r := &rows[i]
		switch {
		case apiUserID != "" && r.ExternalID == apiUserID:
			r.NotTechnician = "api user"
		case slices.ContainsFunc(ignore, func(v config.ID) bool {
			s := strings.TrimSpace(string(v))
			return s == r.ExternalID || (r.Identifier != "" && strings.EqualFold(s, r.Identifier)) ||
				(r.Email != "" && strings.EqualFold(s, r.Email))
		}):
			r.NotTechnician = "ignored"
		}
	}
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
		if h == "" && r.NotTechnician == "api user" {
			h = "- (Horizon's API user)"
		} else if h == "" && r.NotTechnician != "" {
			h = "- (" + r.NotTechnician + ")"
		} else if h == "" && r.Active {
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
