package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/syncer"
)

// windowed reports whether the ingest window applies to an entity;
// reference data (contacts, companies, members) is synced in full. Notes
// follow the tickets stored, and so the window.
func windowed(e helpdesk.Entity) bool {
	return e == helpdesk.EntityTickets || e == helpdesk.EntityTimeEntries || e == helpdesk.EntityNotes
}

// planSync announces the sync work sync settings call for: the first sync
// of an entity (a backfill of the ingest window, or a full copy of
// reference data), and a backfill of the gap when the window was widened.
// Incremental syncs are routine, not plan items. Nothing here writes to the
// PSA.
func (r *Reconciler) planSync(ctx context.Context, p *Plan) error {
	window := r.Config.Sync.IngestWindow.Std()
	start := r.now().Add(-window)
	costs := r.newCoster()
	for _, e := range r.entities() {
		wm, err := r.Store.Watermark(ctx, r.Scope(), e)
		if err != nil {
			return fmt.Errorf("read %s watermark: %w", e, err)
		}
		c, ok := syncChange(e, wm, start, window)
		if !ok {
			continue
		}
		since := time.Time{}
		if windowed(e) {
			since = start
		}
		c.Cost = costs.estimate(ctx, e, since)
		c.apply = func(ctx context.Context) error {
			if r.Syncer == nil {
				return fmt.Errorf("no sync engine configured")
			}
			_, err := r.Syncer.SyncEntity(ctx, e, store.TriggerBackfill, false)
			return err
		}
		p.Changes = append(p.Changes, c)
	}
	return nil
}

func syncChange(e helpdesk.Entity, wm store.Watermark, start time.Time, window time.Duration) (Change, bool) {
	c := Change{Kind: KindSync, Action: ActionBackfill, Target: string(e)}
	done := !wm.UpdatedThrough.IsZero() || !wm.BackfilledFrom.IsZero()
	switch {
	case !windowed(e) && !done:
		c.Detail = "first sync: copy all records"
	case !windowed(e):
		return Change{}, false
	case wm.BackfilledFrom.IsZero():
		c.Detail = fmt.Sprintf("first sync: backfill the ingest window (%s, since %s)", fmtWindow(window), start.Format(time.DateOnly))
	// The sync engine's own rule: the window slides forward with the
	// clock, so its start only falls before BackfilledFrom when widened.
	case start.Before(wm.BackfilledFrom):
		c.Detail = fmt.Sprintf("ingest window widened to %s: backfill %s to %s", fmtWindow(window),
			start.Format(time.DateOnly), wm.BackfilledFrom.Format(time.DateOnly))
	default:
		return Change{}, false
	}
	if e == helpdesk.EntityNotes {
		// No PSA lists notes across tickets: say what the backfill costs.
		c.Detail += fmt.Sprintf(": one request per stored ticket, at most %d per run, the polls carry on until done",
			syncer.DefaultNotesPerRun)
	}
	return c, true
}

func fmtWindow(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// entities lists what the file syncs, members always included.
func (r *Reconciler) entities() []helpdesk.Entity {
	var out []helpdesk.Entity
	for _, e := range r.Config.Sync.Entities {
		out = append(out, helpdesk.Entity(e))
	}
	return append(out, helpdesk.EntityMembers)
}
