package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/writeback"
)

// writeFlags are the flags every ticket write shares.
type writeFlags struct {
	files           accountFiles
	as, key, output string
	noWait          bool
	timeout         time.Duration
}

func (f *writeFlags) bind(cmd *cobra.Command) {
	accountFlags(cmd, &f.files)
	fl := cmd.Flags()
	fl.StringVar(&f.as, "as", "", "The Horizon user (email) the write is made for; required. It must be mapped to a helpdesk user unless writeback.unmappedAuthor is apiUser.")
	fl.StringVar(&f.key, "idempotency-key", "", "Repeat-safe key: running the command again with the same key returns the first write instead of making a second.")
	fl.BoolVar(&f.noWait, "no-wait", false, "Only queue the write; do not wait for the PSA's answer.")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Minute, "How long to wait for the PSA's answer.")
	fl.StringVarP(&f.output, "output", "o", "text", "Output format: text or json.")
}

func (m *Main) ticketCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ticket",
		Short: "Write to the PSA: create or update a ticket, add a note, log time",
		Long: "Each subcommand stores a write in the outbox and waits for the PSA's answer. With a daemon running " +
			"(reconciler run), the daemon delivers it; without one, the command delivers it itself. The write is " +
			"made as the helpdesk user mapped to --as. Every write is in the write log: reconciler logs writes. " +
			"A delivered write (or one queued with --no-wait) exits 0; no answer in time, giving up " +
			"after retries and an unknown outcome exit 3.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(m.ticketCreateCommand(), m.ticketUpdateCommand(), m.ticketNoteCommand(), m.ticketTimeCommand())
	return cmd
}

func (m *Main) ticketCreateCommand() *cobra.Command {
	var f writeFlags
	var c writeback.CreateTicket
	cmd := &cobra.Command{
		Use:     "create -f FILE --as USER --summary TEXT [--queue Q] [--type T] [--priority P] [--status S] [--company ID] [--contact ID]",
		Short:   "Create a ticket; unset fields take writeback.defaults",
		Example: `  reconciler ticket create -f horizon.yaml --as jane.doe@acme-msp.com --summary "VPN drops every hour" --priority "Priority 2 - High"`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.ticketWrite(cmd, f, writeback.Request{Op: store.OpCreateTicket, Create: &c})
		},
	}
	f.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&c.Summary, "summary", "", "Summary (title) of the ticket; required.")
	fl.StringVar(&c.Description, "description", "", "Description of the ticket.")
	fl.StringVar(&c.Company, "company", "", "Company (account, client) ID.")
	fl.StringVar(&c.Contact, "contact", "", "Contact ID.")
	fl.StringVar(&c.Queue, "queue", "", "Board, queue, department or team: name or ID.")
	fl.StringVar(&c.Type, "type", "", "Ticket type: name or ID.")
	fl.StringVar(&c.Priority, "priority", "", "Priority: name or ID.")
	fl.StringVar(&c.Status, "status", "", "Status: name (on the ticket's board) or ID.")
	return cmd
}

func (m *Main) ticketUpdateCommand() *cobra.Command {
	var f writeFlags
	var ticket string
	var u writeback.UpdateTicket
	cmd := &cobra.Command{
		Use:   "update -f FILE --ticket ID --as USER [--status S] [--assignee USER] [--priority P] [--type T]",
		Short: "Change a ticket's status, assignee, priority or type",
		Example: `  reconciler ticket update -f horizon.yaml --ticket 4711 --as jane.doe@acme-msp.com --status "In Progress" ` +
			`--assignee bob.smith@acme-msp.com`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.ticketWrite(cmd, f, writeback.Request{Op: store.OpUpdateTicket, TicketID: ticket, Update: &u})
		},
	}
	f.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&ticket, "ticket", "", "External ID of the ticket; required.")
	fl.StringVar(&u.Status, "status", "", "New status: name (resolved on the ticket's board through the picklist database) or ID.")
	fl.StringVar(&u.Assignee, "assignee", "", "Horizon user (email) to assign, resolved through the user mapping.")
	fl.StringVar(&u.Priority, "priority", "", "New priority: name or ID.")
	fl.StringVar(&u.Type, "type", "", "New ticket type: name or ID.")
	return cmd
}

func (m *Main) ticketNoteCommand() *cobra.Command {
	var f writeFlags
	var ticket string
	var public bool
	var n writeback.AddNote
	cmd := &cobra.Command{
		Use:     "note -f FILE --ticket ID --as USER --text TEXT [--public]",
		Short:   "Add a note to a ticket, written as the mapped helpdesk user",
		Example: `  reconciler ticket note -f horizon.yaml --ticket 4711 --as jane.doe@acme-msp.com --text "Called the client"`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n.Internal = !public
			return m.ticketWrite(cmd, f, writeback.Request{Op: store.OpAddNote, TicketID: ticket, Note: &n})
		},
	}
	f.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&ticket, "ticket", "", "External ID of the ticket; required.")
	fl.StringVar(&n.Text, "text", "", "Text of the note; required.")
	fl.BoolVar(&public, "public", false, "A public note (visible to the customer) instead of an internal one.")
	return cmd
}

func (m *Main) ticketTimeCommand() *cobra.Command {
	var f writeFlags
	var ticket, start string
	var t writeback.AddTime
	cmd := &cobra.Command{
		Use:     "time -f FILE --ticket ID --as USER --hours H [--start TIME] [--notes TEXT] [--billable]",
		Short:   "Log time against a ticket for the mapped helpdesk user",
		Example: `  reconciler ticket time -f horizon.yaml --ticket 4711 --as jane.doe@acme-msp.com --hours 1.5 --notes "On site"`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if start != "" {
				var err error
				if t.Start, err = parseStart(start); err != nil {
					return &usageError{message: fmt.Sprintf("--start %q: want a date (2024-03-01) or a time (2024-03-01T09:30:00Z)", start),
						hint: "--start 2024-03-01T09:30:00Z"}
				}
			}
			return m.ticketWrite(cmd, f, writeback.Request{Op: store.OpAddTime, TicketID: ticket, Time: &t})
		},
	}
	f.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&ticket, "ticket", "", "External ID of the ticket; required.")
	fl.Float64Var(&t.Hours, "hours", 0, "Hours worked, more than 0 and at most 24; required.")
	fl.StringVar(&start, "start", "", "When the work started (RFC 3339 or a date, UTC); default now.")
	fl.StringVar(&t.Notes, "notes", "", "Notes of the time entry.")
	fl.BoolVar(&t.Billable, "billable", false, "Billable time.")
	return cmd
}

func parseStart(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, s)
}

// ticketWrite enqueues r, then waits for its outcome unless --no-wait:
// delivering it itself when no daemon leads the account.
func (m *Main) ticketWrite(cmd *cobra.Command, f writeFlags, r writeback.Request) error {
	if err := checkOutput(cmd, f.output, "text", "json"); err != nil {
		return err
	}
	if f.as == "" {
		return &usageError{message: "--as is required: the Horizon user the write is made for", hint: cmd.CommandPath() + " --help"}
	}
	r.Author, r.IdempotencyKey = f.as, f.key
	ctx := cmd.Context()
	a, closeStore, err := m.openAccount(ctx, f.files, accountOptions{})
	if err != nil {
		return err
	}
	defer closeStore()
	w, created, err := a.Writeback.Enqueue(ctx, r)
	if err != nil {
		return refusedOrFailed(err)
	}
	if !created {
		fmt.Fprintf(m.Stderr, "reconciler: idempotency key %q was used before: this is write %d\n", w.IdempotencyKey, w.ID)
	}
	if !f.noWait && !writeback.Final(w.State) {
		wctx, cancel := context.WithTimeout(ctx, f.timeout)
		w, err = m.awaitWrite(wctx, a, w.ID)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
	if err := m.printWrite(w, f.output); err != nil {
		return err
	}
	return writeExit(w, f.noWait)
}

// awaitWrite waits for a write's outcome: while another process (a
// daemon, another command) holds the account's lease, that process
// delivers it; whenever the lease is free, this process takes it and
// delivers the write itself.
func (m *Main) awaitWrite(ctx context.Context, a *account.Account, id int64) (store.Write, error) {
	host, _ := os.Hostname()
	holder := fmt.Sprintf("cli:%s/%d", host, os.Getpid())
	name := account.LeaseName(a.Config)
	for {
		_, err := a.Store.AcquireLease(ctx, name, holder, cliLease)
		switch {
		case errors.Is(err, store.ErrLeaseHeld):
			// Check the write, then the lease again: its holder may be gone.
			wctx, cancel := context.WithTimeout(ctx, cliLease/3)
			w, err := a.Writeback.Await(wctx, id)
			cancel()
			if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				return w, err
			}
		case err != nil:
			return store.Write{}, fmt.Errorf("take the account's lease: %w", err)
		default:
			return m.deliverAsLeader(ctx, a, name, holder, id)
		}
	}
}

// cliLease is how long the command's hold on the account's lease lasts
// without renewal: a killed command blocks a daemon no longer.
const cliLease = 30 * time.Second

// deliverAsLeader runs the write-back worker while holding the account's
// lease, until write id is final; a lost lease stops the work.
func (m *Main) deliverAsLeader(ctx context.Context, a *account.Account, name, holder string, id int64) (store.Write, error) {
	defer a.Store.ReleaseLease(context.WithoutCancel(ctx), name, holder)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		tick := time.NewTicker(cliLease / 3)
		defer tick.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-tick.C:
				if _, err := a.Store.AcquireLease(rctx, name, holder, cliLease); err != nil {
					cancel()
					return
				}
			}
		}
	}()
	return a.Writeback.RunUntil(rctx, id)
}

// refusedOrFailed maps an Enqueue error to an exit status: a request
// Horizon refuses exits 1, anything else 3.
func refusedOrFailed(err error) error {
	var inv *writeback.InvalidError
	if errors.As(err, &inv) || errors.Is(err, writeback.ErrUnmapped) || errors.Is(err, writeback.ErrDisabled) ||
		errors.Is(err, writeback.ErrUnknownTicket) || errors.Is(err, store.ErrIdempotencyConflict) {
		return &exitError{code: ExitInvalid, err: err}
	}
	return &exitError{code: ExitFailure, err: err}
}

// writeExit is the exit status of a write's outcome.
func writeExit(w store.Write, queued bool) error {
	switch {
	case w.State == store.WriteDone:
		return nil
	case w.State == store.WriteFailed:
		return &exitError{code: ExitInvalid}
	case !writeback.Final(w.State) && queued:
		return nil
	}
	return &exitError{code: ExitFailure}
}

func (m *Main) printWrite(w store.Write, output string) error {
	if output == "json" {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(w)
	}
	answer := w.Answer
	if answer == "" && !writeback.Final(w.State) {
		answer = "queued; follow it with: reconciler logs writes --ticket " + or(w.TicketID, "ID")
	}
	_, err := fmt.Fprintf(m.Stdout, "write %d %s: %s\n", w.ID, w.State, answer)
	return err
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
