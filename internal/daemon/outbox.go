package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/writeback"
)

// outboxFeed is the one poll of the outbox a replica makes for all its
// accounts: every OutboxPollInterval it reads every scope's backlog in one
// query and hands each write-back engine this replica runs (the accounts
// it leads) its own. An engine polling on its own would cost a claim
// transaction and a backlog query per account every interval, most of
// them finding nothing, however few writes there are.
type outboxFeed struct {
	mu      sync.Mutex
	engines map[store.Scope]*writeback.Engine
}

func (f *outboxFeed) add(sc store.Scope, e *writeback.Engine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.engines == nil {
		f.engines = map[store.Scope]*writeback.Engine{}
	}
	f.engines[sc] = e
}

// remove forgets e, unless a newer engine of the scope replaced it.
func (f *outboxFeed) remove(sc store.Scope, e *writeback.Engine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.engines[sc] == e {
		delete(f.engines, sc)
	}
}

func (f *outboxFeed) running() map[store.Scope]*writeback.Engine {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[store.Scope]*writeback.Engine, len(f.engines))
	for sc, e := range f.engines {
		out[sc] = e
	}
	return out
}

// runWriteback runs a led account's write-back engine, fed by the
// replica's outbox poll, until ctx ends.
func (d *runner) runWriteback(ctx context.Context, g *generation) {
	f := &d.fleet.outbox
	f.add(g.acct.Scope, g.acct.Writeback)
	defer f.remove(g.acct.Scope, g.acct.Writeback)
	g.acct.Writeback.RunFed(ctx)
}

// feedOutboxes polls the outbox for every engine this replica runs until
// ctx ends: writes enqueued by another replica or by the CLI go out
// within an interval, as they did when each engine polled.
func (d *Daemon) feedOutboxes(ctx context.Context) {
	every := d.o.OutboxPollInterval
	if every <= 0 {
		every = writeback.DefaultPollInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.feedOutboxesOnce(ctx)
		}
	}
}

// feedOutboxesOnce reads every backlog and feeds the running engines; a
// scope absent from the answer has none.
func (d *Daemon) feedOutboxesOnce(ctx context.Context) {
	engines := d.outbox.running()
	if len(engines) == 0 {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	backlogs, err := d.o.Store.OutboxBacklogs(qctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("read the outbox backlogs", "err", err)
		}
		return
	}
	for sc, e := range engines {
		e.Feed(backlogs[sc])
	}
}
