package writeback

import (
	"context"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// Final reports whether a write state is final (the write will not be
// sent again on its own).
func Final(state string) bool {
	return state != store.WritePending && state != store.WriteInFlight
}

// Await polls the store until write id is final or ctx ends, and returns
// the last state read (with ctx's error when it ended first).
func (e *Engine) Await(ctx context.Context, id int64) (store.Write, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		w, err := e.o.Store.Write(context.WithoutCancel(ctx), e.o.Scope, id)
		if err != nil || Final(w.State) {
			return w, err
		}
		select {
		case <-ctx.Done():
			return w, fmt.Errorf("write %d still %s: %w", id, w.State, ctx.Err())
		case <-tick.C:
		}
	}
}

// RunUntil runs the worker until write id is final or ctx ends (a process
// that holds the account's lease and delivers on its own, such as the CLI
// with no daemon running). It returns once every delivery it started has
// recorded its outcome.
func (e *Engine) RunUntil(ctx context.Context, id int64) (store.Write, error) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(rctx)
	}()
	w, err := e.Await(ctx, id)
	cancel()
	<-done
	return w, err
}
