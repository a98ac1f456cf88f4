package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/syncer"
)

func (m *Main) syncCommand() *cobra.Command {
	var files accountFiles
	var entity, ticket string
	var full, quiet bool
	cmd := &cobra.Command{
		Use:   "sync -f FILE [--entity E] [--ticket ID] [--full] [--quiet]",
		Short: "Sync helpdesk data into the store now (force a manual sync)",
		Long: "Sync copies helpdesk data into the store: one ticket by its external ID, one entity, or every " +
			"entity the file enables plus helpdesk users and picklists. The first sync of an entity backfills the " +
			"ingest window; later ones are incremental from the entity's watermark; --full re-fetches the whole " +
			"window. Every run is recorded in the sync run log (reconciler logs sync).\n\n" +
			"This is the last step of the troubleshooting sequence for \"this ticket isn't in Horizon\": check " +
			"reconciler logs sync, then reconciler logs callbacks --ticket ID, then reconciler sync --ticket ID.\n\n" +
			"On a terminal a progress bar shows records and pages done, the rate and, where the PSA reports a " +
			"total, the time left; in CI or with --quiet, plain log lines.",
		Example: "  reconciler sync -f horizon.yaml\n" +
			"  reconciler sync -f horizon.yaml --entity tickets --full\n" +
			"  reconciler sync -f horizon.yaml --ticket 4711",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkEnum(cmd, "entity", entity, syncEntities); err != nil {
				return err
			}
			return m.sync(cmd.Context(), files, syncer.SyncOptions{Entity: helpdesk.Entity(entity), TicketID: ticket,
				Full: full, Trigger: store.TriggerManual}, quiet)
		},
	}
	accountFlags(cmd, &files)
	fl := cmd.Flags()
	fl.StringVar(&entity, "entity", "", "Sync only this entity: tickets, contacts, companies, timeEntries, members or picklists.")
	fl.StringVar(&ticket, "ticket", "", "Sync only this ticket: its API id, or the number agents see (Autotask, Zoho Desk). "+
		"A ticket that exists nowhere exits 1.")
	fl.BoolVar(&full, "full", false, "Re-fetch the whole ingest window, ignoring the watermark.")
	fl.BoolVarP(&quiet, "quiet", "q", false, "No progress bar; log lines only.")
	return cmd
}

func (m *Main) sync(ctx context.Context, af accountFiles, o syncer.SyncOptions, quiet bool) error {
	a, closeStore, err := m.openAccount(ctx, af, accountOptions{progress: m.progressFor(quiet)})
	if err != nil {
		return err
	}
	defer closeStore()
	if o.TicketID != "" {
		// The number agents see (Autotask, Zoho Desk) names the ticket too.
		if t, err := store.LookupTicket(ctx, a.Store, a.Scope, o.TicketID); err == nil {
			o.TicketID = t.ExternalID
		} else if t, err := helpdesk.GetTicketByIDOrNumber(ctx, a.Provider, o.TicketID); err == nil {
			o.TicketID = t.ExternalID
		}
	}
	runs, err := a.Syncer.Sync(ctx, o)
	if werr := syncer.WriteRuns(m.Stdout, runs, "text"); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if o.TicketID != "" && len(runs) == 1 && runs[0].Created+runs[0].Updated+runs[0].Unchanged == 0 {
		// SyncTicket stores nothing only when neither side has the ticket.
		return &exitError{code: ExitInvalid, err: fmt.Errorf("no ticket %s exists, neither in Horizon nor in the PSA "+
			"by that API id or number", o.TicketID)}
	}
	return nil
}
