package syncer

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// Run is the polling fallback, always on: it refreshes the picklists,
// syncs every enabled entity (a backfill the first time) and the members,
// then repeats the sync every PollInterval and the picklist refresh every
// PicklistInterval, each spread by the jitter, until ctx is done. Failed
// runs are logged and recorded in the run log and the loop goes on. Run
// returns nil once ctx is cancelled and the batch in hand is stored.
func (s *Syncer) Run(ctx context.Context) error {
	s.refreshReference(ctx)
	s.poll(ctx)
	pollT := time.NewTimer(s.jitter(s.o.PollInterval))
	defer pollT.Stop()
	refT := time.NewTimer(s.jitter(s.o.PicklistInterval))
	defer refT.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refT.C:
			s.refreshReference(ctx)
			refT.Reset(s.jitter(s.o.PicklistInterval))
		case <-pollT.C:
			s.poll(ctx)
			pollT.Reset(s.jitter(s.o.PollInterval))
		}
	}
}

// poll syncs every enabled entity once, then the members (cheap: an
// incremental run, or one short listing of users, so that a new helpdesk
// user surfaces within a poll), stopping early on an authentication
// failure or a cancelled context. Errors are already logged and recorded
// by the runs.
func (s *Syncer) poll(ctx context.Context) {
	for _, e := range s.Entities() {
		if _, err := s.SyncEntity(ctx, e, store.TriggerPoll, false); err != nil && stop(ctx, err) {
			return
		}
	}
}

// refreshReference refreshes the picklists.
func (s *Syncer) refreshReference(ctx context.Context) {
	_, _ = s.refreshPicklists(ctx, store.TriggerPoll) // recorded by the run
}

// jitter spreads d by up to Options.Jitter of it either way.
func (s *Syncer) jitter(d time.Duration) time.Duration {
	if s.o.Jitter <= 0 {
		return d
	}
	f := 1 + s.o.Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}
