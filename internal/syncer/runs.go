package syncer

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// ListRuns returns the sync run log for `reconciler logs sync`, newest
// first.
func ListRuns(ctx context.Context, st store.Store, scope store.Scope, f store.SyncRunFilter) ([]store.SyncRun, error) {
	runs, err := st.SyncRuns(ctx, scope, f)
	if err != nil {
		return nil, fmt.Errorf("list sync runs: %w", err)
	}
	return runs, nil
}

// WriteRuns renders runs newest first, as a text table (format "" or
// "text") or a JSON array ("json").
func WriteRuns(w io.Writer, runs []store.SyncRun, format string) error {
	runs = slices.Clone(runs)
	slices.SortStableFunc(runs, func(a, b store.SyncRun) int {
		return cmp.Or(b.StartedAt.Compare(a.StartedAt), cmp.Compare(b.ID, a.ID))
	})
	switch format {
	case "", "text", "table":
		return writeRunsText(w, runs)
	case "json":
		if runs == nil {
			runs = []store.SyncRun{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(runs); err != nil {
			return fmt.Errorf("write sync runs: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("write sync runs: unknown output format %q (want text or json)", format)
	}
}

func writeRunsText(w io.Writer, runs []store.SyncRun) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "No sync runs.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tDURATION\tENTITY\tTRIGGER\tTICKET\tCREATED\tUPDATED\tUNCHANGED\tFAILED\tSKIPPED\tREQUESTS\tPAUSED\tRESULT\tERROR")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n",
			r.ID, r.StartedAt.UTC().Format(time.RFC3339), duration(r), r.Entity, r.Trigger,
			dash(r.TicketID), r.Created, r.Updated, r.Unchanged, r.Failed, r.Skipped, r.Requests, paused(r), result(r), dash(r.Error))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write sync runs: %w", err)
	}
	return writeSkips(w, runs)
}

// writeSkips lists, under the table, the records each run skipped.
func writeSkips(w io.Writer, runs []store.SyncRun) error {
	for _, r := range runs {
		if r.Skipped == 0 {
			continue
		}
		if _, err := fmt.Fprintf(w, "\nRun %d skipped %d %s records (not stored; the run went on):\n", r.ID, r.Skipped, r.Entity); err != nil {
			return fmt.Errorf("write sync runs: %w", err)
		}
		for _, sk := range r.Skips {
			fmt.Fprintf(w, "  %s %s: %s\n", r.Entity, cmp.Or(sk.ID, "(no id)"), sk.Reason)
		}
		if more := r.Skipped - len(r.Skips); more > 0 {
			fmt.Fprintf(w, "  ... and %d more\n", more)
		}
	}
	return nil
}

// result is the run's outcome: "ok", "failed", "cancelled" (the process
// was stopping), "interrupted" (its process died; the counts are what it
// committed), or "unfinished" for a run with no end (still running, or
// its process died and no run of its entity started since).
func result(r store.SyncRun) string {
	switch {
	case r.Outcome != "":
		return r.Outcome
	case r.FinishedAt.IsZero():
		return "unfinished"
	case r.Error != "":
		return "failed"
	default:
		return "ok"
	}
}

// duration is "-" while a run has no end, and for an interrupted run,
// whose end is only when its interruption was noticed.
func duration(r store.SyncRun) string {
	if r.FinishedAt.IsZero() || r.Outcome == store.RunInterrupted {
		return "-"
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

// paused is the time a run was held at the API budget's reserve.
func paused(r store.SyncRun) string {
	if r.Paused <= 0 {
		return "-"
	}
	return r.Paused.Round(time.Second).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
