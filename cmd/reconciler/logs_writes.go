package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/store"
)

func (m *Main) logsWritesCommand() *cobra.Command {
	var f logFilters
	var ticket string
	cmd := &cobra.Command{
		Use:   "writes -f FILE [--ticket ID] [--since D] [--failed] [-o json]",
		Short: "List the write log (writes from Horizon to the PSA), newest first",
		Long: "Lists every write Horizon asked the PSA to make: when, the operation, the ticket, the Horizon user who " +
			"asked and the helpdesk user it was made as, attempts, state (pending, inflight, done, failed, dead, " +
			"unknown), the PSA's answer and how long the last attempt took. --failed shows writes the PSA refused " +
			"(failed), gave up on (dead) or whose outcome is unknown. -o json adds the payload and the write's marker.",
		Example: "  reconciler logs writes -f horizon.yaml --ticket 4711\n  reconciler logs writes -f horizon.yaml --failed -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, f.output, "text", "json"); err != nil {
				return err
			}
			since, err := f.sinceTime()
			if err != nil {
				return err
			}
			return m.logsWrites(cmd.Context(), f, store.WriteFilter{TicketID: ticket, Since: since, FailedOnly: f.failed, Limit: f.limit})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&ticket, "ticket", "", "Only writes to the ticket with this external ID.")
	return cmd
}

func (m *Main) logsWrites(ctx context.Context, f logFilters, filter store.WriteFilter) error {
	st, scope, err := m.storeFor(ctx, f.files)
	if err != nil {
		return err
	}
	defer st.Close()
	ws, err := st.Writes(ctx, scope, filter)
	if err != nil {
		return fmt.Errorf("read write log: %w", err)
	}
	return writeWriteLog(m.Stdout, ws, f.output)
}

// writeWriteLog renders the write log as a table or as JSON lines' array.
func writeWriteLog(w io.Writer, ws []store.Write, output string) error {
	if output == "json" {
		if ws == nil {
			ws = []store.Write{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(ws)
	}
	if len(ws) == 0 {
		_, err := fmt.Fprintln(w, "No writes.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tASKED\tOP\tTICKET\tAUTHOR\tAS\tSTATE\tATTEMPTS\tTOOK\tANSWER")
	for _, x := range ws {
		as := x.MemberName
		if x.MemberID != "" {
			as = fmt.Sprintf("%s (%s)", x.MemberName, x.MemberID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", x.ID, x.CreatedAt.Format(time.RFC3339), x.Op,
			or(x.TicketID, "-"), x.Author, or(as, "API user"), x.State, x.Attempts, took(x.LastDuration),
			strings.ReplaceAll(x.Answer, "\n", " "))
	}
	return tw.Flush()
}

func took(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}
