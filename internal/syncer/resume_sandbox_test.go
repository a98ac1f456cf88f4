package syncer

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// TestSandboxBackfillResumes kills a ticket backfill after a few
// committed pages on every emulated PSA and restarts it. Where the
// client resumes (ConnectWise, Autotask: keyset paging on id), the
// restart asks only for the pages not yet committed; elsewhere it reads
// everything again. Either way the store ends equal to the PSA.
func TestSandboxBackfillResumes(t *testing.T) {
	const size, committed = 10, 8
	for _, spec := range psaSpecs {
		t.Run(spec.name, func(t *testing.T) {
			e := newSandboxEnv(t, spec, sandboxOpts{tickets: 500})
			opts := func(o *Options) { o.PageSize = size }
			r, ok := e.psa.(Resumer)
			resumable := ok && r.Resumable(helpdesk.EntityTickets)
			if want := spec.name == helpdesk.ConnectWise || spec.name == helpdesk.Autotask; resumable != want {
				t.Fatalf("resumable = %v, want %v", resumable, want)
			}

			// The requests of an uninterrupted backfill, into another store.
			final := e.st
			e.st = openSQLite(t, filepath.Join(t.TempDir(), "reference.db"))
			s := e.syncer(t, opts)
			n0 := e.reqs.n.Load()
			mustSync(t, s)
			full := e.reqs.n.Load() - n0
			if full < 2*committed {
				t.Fatalf("a full backfill took %d requests: too few to kill it after %d pages", full, committed)
			}

			e.st = &dyingStore{Store: final, dieAfter: committed}
			if _, err := e.syncer(t, opts).SyncEntity(context.Background(), helpdesk.EntityTickets,
				store.TriggerPoll, false); !errors.Is(err, errDead) {
				t.Fatalf("first run: %v, want killed", err)
			}
			e.st = final
			s = e.syncer(t, opts)
			n0 = e.reqs.n.Load()
			runs, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false)
			if err != nil {
				t.Fatal(err)
			}
			restart := e.reqs.n.Load() - n0
			t.Logf("%s: full backfill %d requests, after a kill at page %d: %d", spec.name, full, committed, restart)
			if resumable && restart > full-committed+1 {
				t.Errorf("the resumed backfill made %d requests, want at most %d (%d less the %d pages committed, +1)",
					restart, full-committed+1, full, committed)
			}
			if !resumable && restart < full-1 {
				t.Errorf("a backfill that cannot resume made %d requests, want the full %d", restart, full)
			}
			if len(runs) != 1 || runs[0].Trigger != store.TriggerBackfill || runs[0].Outcome != store.RunOK {
				t.Fatalf("restart runs = %+v, want one backfill", runs)
			}
			wm, err := e.st.Watermark(context.Background(), e.scope, helpdesk.EntityTickets)
			if err != nil || wm.Cursor != "" || wm.BackfilledFrom.IsZero() {
				t.Errorf("watermark after the backfill = %+v (%v)", wm, err)
			}
			e.compareWorld(t, e.clock.Now().Add(-30*24*time.Hour))
		})
	}
}
