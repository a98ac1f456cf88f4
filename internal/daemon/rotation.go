package daemon

import (
	"context"
	"time"
)

// rotations starts a new generation when the period of a scheduled
// callback-secret rotation (callbacks.rotateEvery) ends: the new
// generation's receiver requires the new period's secret (still accepting
// the last one for the grace period), and the leader's first pass of it
// registers the new secret with the PSA. Every replica rotates at the same
// instant, since periods are counted from the Unix epoch.
func (d *runner) rotations(ctx context.Context) {
	var failedAt time.Time
	for {
		_, a := d.current()
		now := d.o.Now()
		wait := time.Hour // until a swap says otherwise
		if a != nil && a.Rotation != nil {
			wait = max(a.Rotation.Next.Sub(now), failedAt.Add(30*time.Second).Sub(now), 0)
			// A test clock may jump: look again at least every second.
			wait = min(wait, time.Second)
		}
		if a != nil && a.Rotation != nil && wait == 0 {
			if err := d.rotate(ctx, a.Rotation.Next); err != nil {
				failedAt = now
				d.log.Error("callback secret rotation failed; the current secret stays", "err", err)
			}
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.rotSwapped:
			t.Stop()
		case <-t.C:
		}
	}
}

// rotate rebuilds the account of the config in force, which derives the
// secret of the period that began at since.
func (d *runner) rotate(ctx context.Context, since time.Time) error {
	d.swapMu.Lock()
	defer d.swapMu.Unlock()
	cfg, a := d.current()
	if a.Rotation == nil || a.Rotation.Next != since {
		return nil // a reload rebuilt it meanwhile
	}
	if err := d.swap(ctx, cfg); err != nil {
		return err
	}
	d.log.Info("callback secret rotated", "period_start", since)
	d.emit("rotated", "callback secret rotated for the period starting %s", since.Format(time.RFC3339))
	return nil
}
