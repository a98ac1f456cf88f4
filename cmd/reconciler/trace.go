package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

func (m *Main) traceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Follow one record from the PSA to Horizon",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var files accountFiles
	var output string
	var fix bool
	ticket := &cobra.Command{
		Use:   "ticket ID -f FILE [-o json] [--fix]",
		Short: "Why a ticket is (or is not) current in Horizon: the store and the PSA side by side, and every trail",
		Long: "Trace ticket answers \"this ticket isn't in Horizon\" in one step. It shows the ticket as Horizon's store " +
			"holds it beside the ticket as the PSA serves it now, the sync runs and callbacks that touched it, the " +
			"writes Horizon queued for it, and a verdict: current in Horizon; behind; in the PSA but not in Horizon " +
			"(with when the PSA last changed it, whether a callback came since, and when the last poll ran); or gone " +
			"from the PSA.\n\n" +
			"ID is the API id or the number agents see (Zoho Desk's ticketNumber, Autotask's ticketNumber such as " +
			"T20251205.1085), looked up in the store and then in the PSA. --fix forces the one-ticket sync and shows the " +
			"verdict after it. Exit 0 when the ticket is current in Horizon (after --fix, if given), 1 when it is " +
			"not or exists nowhere, 3 when the PSA could not be read.",
		Example: "  reconciler trace ticket 4711 -f horizon.yaml\n  reconciler trace ticket T20251205.1085 -f horizon.yaml --fix",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
				return &usageError{message: "trace ticket takes one ticket ID", hint: cmd.CommandPath() + " --help"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(cmd, output, "text", "json"); err != nil {
				return err
			}
			return m.traceTicket(cmd.Context(), files, strings.TrimSpace(args[0]), output, fix)
		},
	}
	accountFlags(ticket, &files)
	ticket.Flags().StringVarP(&output, "output", "o", "text", "Output format: text or json.")
	ticket.Flags().BoolVar(&fix, "fix", false, "Force the one-ticket sync from the PSA, then trace again.")
	cmd.AddCommand(ticket)
	return cmd
}

// Trace verdicts.
const (
	traceCurrent  = "current"
	traceBehind   = "behind"
	traceMissing  = "missing"
	traceOutside  = "outside-window"
	traceGone     = "gone-from-psa"
	traceDeleted  = "deleted"
	traceNowhere  = "nowhere"
	traceUnknown  = "unknown"
	traceTrailMax = 20
)

// traceReport is what trace ticket prints.
type traceReport struct {
	Query     string                 `json:"query"`
	ID        string                 `json:"id"`
	Account   string                 `json:"account"`
	Provider  string                 `json:"provider"`
	Stored    *helpdesk.Ticket       `json:"stored"`
	Live      *helpdesk.Ticket       `json:"live"`
	LiveError string                 `json:"liveError,omitempty"`
	SyncRuns  []store.SyncRun        `json:"syncRuns"`
	Callbacks []store.CallbackRecord `json:"callbacks"`
	Writes    []store.OutboxItem     `json:"writes"`
	// Notes are the ticket's stored notes (the notes entity, or written
	// from Horizon), oldest first, with their authors.
	Notes    []store.AttributedNote `json:"notes"`
	LastPoll time.Time              `json:"lastPoll,omitzero"`
	Fixed    *store.SyncRun         `json:"fixed,omitempty"`
	Verdict  string                 `json:"verdict"`
	Reason   string                 `json:"reason"`
}

func (m *Main) traceTicket(ctx context.Context, af accountFiles, query, output string, fix bool) error {
	a, closeStore, err := m.openAccount(ctx, af, accountOptions{})
	if err != nil {
		return err
	}
	defer closeStore()
	rep, err := trace(ctx, a, query)
	if err != nil {
		return err
	}
	if fix && rep.Verdict != traceNowhere {
		run, err := a.Syncer.SyncTicket(ctx, rep.ID, store.TriggerManual)
		if err != nil {
			return fmt.Errorf("sync ticket %s: %w", rep.ID, err)
		}
		if rep, err = trace(ctx, a, rep.ID); err != nil {
			return err
		}
		rep.Query, rep.Fixed = query, &run
	}
	if err := writeTrace(m.Stdout, rep, output); err != nil {
		return err
	}
	switch rep.Verdict {
	case traceCurrent:
		return nil
	case traceUnknown:
		return &exitError{code: ExitFailure, err: fmt.Errorf("ticket %s: %s", query, rep.Reason)}
	}
	return &exitError{code: ExitInvalid, err: fmt.Errorf("ticket %s: %s", query, rep.Reason)}
}

// trace gathers what the store and the PSA know of one ticket.
func trace(ctx context.Context, a *account.Account, query string) (traceReport, error) {
	rep := traceReport{Query: query, ID: query, Account: a.Scope.Account, Provider: a.Scope.Provider}
	if err := traceStored(ctx, a, &rep); err != nil {
		return rep, err
	}
	live, err := helpdesk.GetTicketByIDOrNumber(ctx, a.Provider, rep.ID)
	switch {
	case err == nil:
		live.Raw = nil
		rep.Live = &live
		if rep.Stored == nil && live.ExternalID != rep.ID {
			// Found by the number agents see: the trails are keyed by id.
			rep.ID = live.ExternalID
			if err := traceStored(ctx, a, &rep); err != nil {
				return rep, err
			}
		}
	case !errors.Is(err, helpdesk.ErrNotFound):
		rep.LiveError = helpdesk.RedactURL(err.Error())
	}
	if err := traceTrails(ctx, a, &rep); err != nil {
		return rep, err
	}
	rep.Verdict, rep.Reason = judgeTrace(rep, a.Config.Sync.IngestWindow.Std(), time.Now())
	return rep, nil
}

// traceStored looks the ticket up in the store by rep.ID (an id or a
// number) and, when found, keys the report by its id.
func traceStored(ctx context.Context, a *account.Account, rep *traceReport) error {
	t, err := store.LookupTicket(ctx, a.Store, a.Scope, rep.ID)
	switch {
	case err == nil:
		t.Raw = nil
		rep.Stored, rep.ID = &t, t.ExternalID
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read stored ticket: %w", err)
	}
	return nil
}

func traceTrails(ctx context.Context, a *account.Account, rep *traceReport) error {
	var err error
	if rep.SyncRuns, err = a.Store.SyncRuns(ctx, a.Scope, store.SyncRunFilter{TicketID: rep.ID, Limit: traceTrailMax}); err != nil {
		return fmt.Errorf("sync runs: %w", err)
	}
	if rep.Callbacks, err = a.Store.Callbacks(ctx, a.Scope, store.CallbackFilter{ExternalID: rep.ID, Limit: traceTrailMax}); err != nil {
		return fmt.Errorf("callbacks: %w", err)
	}
	for i := range rep.Callbacks {
		rep.Callbacks[i].Payload = nil
	}
	if rep.Writes, err = a.Store.OutboxItems(ctx, a.Scope, store.OutboxFilter{TicketID: rep.ID, Limit: traceTrailMax}); err != nil {
		return fmt.Errorf("writes: %w", err)
	}
	if rep.Notes, err = store.TicketNotes(ctx, a.Store, a.Scope, rep.ID); err != nil {
		return fmt.Errorf("notes: %w", err)
	}
	rep.SyncRuns, rep.Callbacks, rep.Writes, rep.Notes = nonNil(rep.SyncRuns), nonNil(rep.Callbacks), nonNil(rep.Writes), nonNil(rep.Notes)
	polls, err := a.Store.SyncRuns(ctx, a.Scope, store.SyncRunFilter{Entity: helpdesk.EntityTickets, Trigger: store.TriggerPoll, Limit: 1})
	if err != nil {
		return fmt.Errorf("sync runs: %w", err)
	}
	if len(polls) > 0 {
		rep.LastPoll = polls[0].StartedAt
	}
	return nil
}

// judgeTrace says whether the ticket is current in Horizon and, when not,
// what the trails say about why.
func judgeTrace(rep traceReport, window time.Duration, now time.Time) (string, string) {
	s, l := rep.Stored, rep.Live
	switch {
	case rep.LiveError != "":
		return traceUnknown, "the PSA could not be read: " + rep.LiveError
	case s == nil && l == nil:
		return traceNowhere, fmt.Sprintf("no ticket %s exists, neither in Horizon nor in the PSA", rep.Query)
	case l == nil && s.Deleted:
		return traceDeleted, "deleted in the PSA, and Horizon knows"
	case l == nil:
		return traceGone, "in Horizon but no longer in the PSA: " + callbackSince(rep, s.UpdatedAt) + ", " + lastPoll(rep)
	case s == nil && window > 0 && l.UpdatedAt.Before(now.Add(-window)):
		return traceOutside, fmt.Sprintf("in the PSA but not in Horizon: last updated %s, before the ingest window (%s): only a sync of this ticket brings it in",
			stampOf(l.UpdatedAt), window)
	case s == nil:
		return traceMissing, "in the PSA but not in Horizon: " + callbackSince(rep, l.UpdatedAt) + ", " + lastPoll(rep)
	case l.UpdatedAt.After(s.UpdatedAt):
		return traceBehind, fmt.Sprintf("behind in Horizon: the PSA changed it %s, Horizon holds the version of %s: %s, %s",
			stampOf(l.UpdatedAt), stampOf(s.UpdatedAt), callbackSince(rep, l.UpdatedAt), lastPoll(rep))
	}
	return traceCurrent, "current in Horizon"
}

// callbackSince says whether a callback about the ticket arrived at or
// after t.
func callbackSince(rep traceReport, t time.Time) string {
	for _, c := range rep.Callbacks { // newest first
		if !c.ReceivedAt.Before(t) {
			return fmt.Sprintf("a callback arrived %s (%s%s)", stampOf(c.ReceivedAt), c.Result, reasonSuffix(c.Reason))
		}
	}
	return "no callback since " + stampOf(t)
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

func lastPoll(rep traceReport) string {
	if rep.LastPoll.IsZero() {
		return "no poll has run yet"
	}
	return "last poll " + stampOf(rep.LastPoll)
}

func stampOf(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func writeTrace(w io.Writer, rep traceReport, output string) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Ticket %s (%s, account %s)\n\n", rep.Query, rep.Provider, rep.Account)
	fmt.Fprintln(tw, "\tHORIZON\tPSA (live)")
	for _, f := range ticketFields {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.name, fieldOf(rep.Stored, f.get, "not stored"), liveField(rep, f.get))
	}
	fmt.Fprintf(tw, "\nSync runs of this ticket (newest first):\n")
	for _, r := range rep.SyncRuns {
		fmt.Fprintf(tw, "  %s\t%s\tcreated %d, updated %d, unchanged %d\t%s\n", stampOf(r.StartedAt), r.Trigger,
			r.Created, r.Updated, r.Unchanged, r.Error)
	}
	if len(rep.SyncRuns) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	fmt.Fprintf(tw, "Last poll of tickets:\t%s\n", stampOf(rep.LastPoll))
	fmt.Fprintf(tw, "\nCallbacks about this ticket (newest first):\n")
	for _, c := range rep.Callbacks {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", stampOf(c.ReceivedAt), dashIfEmpty(c.Event), c.Result, c.Reason)
	}
	if len(rep.Callbacks) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	fmt.Fprintf(tw, "\nWrites to the PSA for this ticket:\n")
	for _, it := range rep.Writes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", stampOf(it.CreatedAt), it.Kind, it.State, it.LastError)
	}
	if len(rep.Writes) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	fmt.Fprintf(tw, "\nNotes stored in Horizon (oldest first):\n")
	for _, n := range rep.Notes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", stampOf(n.CreatedAt), n.Author(), visibility(n.Internal), firstLine(n.Text, 60))
	}
	if len(rep.Notes) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	if rep.Fixed != nil {
		fmt.Fprintf(tw, "\nFix: synced from the PSA: created %d, updated %d, unchanged %d\n", rep.Fixed.Created, rep.Fixed.Updated, rep.Fixed.Unchanged)
	}
	fmt.Fprintf(tw, "\nVerdict: %s\n", rep.Reason)
	return tw.Flush()
}

type ticketField struct {
	name string
	get  func(*helpdesk.Ticket) string
}

var ticketFields = []ticketField{
	{"ID", func(t *helpdesk.Ticket) string { return t.ExternalID }},
	{"Number", func(t *helpdesk.Ticket) string { return dashIfEmpty(t.Number) }},
	{"Summary", func(t *helpdesk.Ticket) string { return t.Summary }},
	{"Status", func(t *helpdesk.Ticket) string { return dashIfEmpty(t.Status.Name) }},
	{"Priority", func(t *helpdesk.Ticket) string { return dashIfEmpty(t.Priority.Name) }},
	{"Queue", func(t *helpdesk.Ticket) string { return dashIfEmpty(t.Queue.Name) }},
	{"Assignee", func(t *helpdesk.Ticket) string { return dashIfEmpty(t.AssigneeID) }},
	{"Closed", func(t *helpdesk.Ticket) string { return fmt.Sprint(t.Closed) }},
	{"Deleted", func(t *helpdesk.Ticket) string { return fmt.Sprint(t.Deleted) }},
	{"Updated", func(t *helpdesk.Ticket) string { return stampOf(t.UpdatedAt) }},
}

func fieldOf(t *helpdesk.Ticket, get func(*helpdesk.Ticket) string, absent string) string {
	if t == nil {
		return absent
	}
	return get(t)
}

func liveField(rep traceReport, get func(*helpdesk.Ticket) string) string {
	if rep.LiveError != "" {
		return "unknown"
	}
	return fieldOf(rep.Live, get, "not in the PSA")
}

// nonNil makes an empty trail an empty JSON list, not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func visibility(internal bool) string {
	if internal {
		return "internal"
	}
	return "public"
}

// firstLine returns the text's first line, cut to max runes.
func firstLine(text string, max int) string {
	line, _, cut := strings.Cut(strings.TrimSpace(text), "\n")
	if r := []rune(line); len(r) > max {
		line, cut = string(r[:max]), true
	}
	if cut {
		line += "…"
	}
	return line
}
