// Package retention bounds the audit trails the store keeps: it deletes
// callback log rows, sync runs and finished outbox items older than the
// process settings say (HORIZON_RETENTION_*), in small slices, once at
// start and then every hour.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/store"
)

// Policy says how long each audit trail is kept; a zero Age keeps it
// forever. It is read from the environment with the process settings.
type Policy struct {
	// Callbacks: callback log rows by receipt (accepted ones, not yet
	// processed, are always kept).
	Callbacks Age `env:"HORIZON_RETENTION_CALLBACKS, default=30d"`
	// SyncRuns: sync runs by start.
	SyncRuns Age `env:"HORIZON_RETENTION_SYNC_RUNS, default=90d"`
	// Outbox: done and dead write-back items by creation (pending and in
	// flight ones are always kept).
	Outbox Age `env:"HORIZON_RETENTION_OUTBOX, default=30d"`
}

// Default is the policy of an unset environment.
var Default = Policy{Callbacks: Age(30 * 24 * time.Hour), SyncRuns: Age(90 * 24 * time.Hour), Outbox: Age(30 * 24 * time.Hour)}

// Age is how long rows are kept: a duration such as 30d, 12h or 90m, or
// 0 (or off) to keep them forever.
type Age time.Duration

// EnvDecode parses an age from the environment.
func (a *Age) EnvDecode(v string) error { return a.UnmarshalText([]byte(v)) }

// UnmarshalText accepts a duration with units d, h, m, s (30d, 1d12h), or
// 0 or off for forever.
func (a *Age) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "0" || strings.EqualFold(s, "off") {
		*a = 0
		return nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d.Std() < time.Minute {
		return fmt.Errorf("retention %q: want a duration of at least 1m such as 30d, 12h or 90m, or 0 (or off) to keep forever", s)
	}
	*a = Age(d.Std())
	return nil
}

// String returns the age as the environment takes it.
func (a Age) String() string {
	if a == 0 {
		return "off"
	}
	d := time.Duration(a)
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// Result counts what one Prune deleted.
type Result struct {
	Callbacks, SyncRuns, Outbox int
}

// slice is how many rows one DELETE removes, so that a backlog is
// pruned without holding the database (SQLite's one writer) for long.
const slice = 1000

// Prune deletes what p no longer keeps, as of now.
func Prune(ctx context.Context, st store.Retention, p Policy, now time.Time) (Result, error) {
	var res Result
	var errs []error
	for _, t := range []struct {
		age   Age
		n     *int
		prune func(context.Context, time.Time, int) (int, error)
	}{
		{p.Callbacks, &res.Callbacks, st.PruneCallbacks},
		{p.SyncRuns, &res.SyncRuns, st.PruneSyncRuns},
		{p.Outbox, &res.Outbox, st.PruneOutbox},
	} {
		if t.age <= 0 {
			continue
		}
		before := now.Add(-time.Duration(t.age))
		for ctx.Err() == nil {
			n, err := t.prune(ctx, before, slice)
			*t.n += n
			if err != nil {
				errs = append(errs, fmt.Errorf("retention: %w", err))
				break
			}
			if n < slice {
				break
			}
		}
	}
	return res, errors.Join(append(errs, ctx.Err())...)
}

// Interval is the period of Run's passes.
const Interval = time.Hour

// Run prunes at once and then every Interval until ctx is done. Failures
// are logged; the next pass tries again.
func Run(ctx context.Context, st store.Retention, p Policy, log *slog.Logger) {
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		res, err := Prune(ctx, st, p, time.Now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.WarnContext(ctx, "retention: prune old audit rows", "err", err)
		case res != Result{}:
			log.InfoContext(ctx, "retention: pruned old audit rows", "callbacks", res.Callbacks,
				"syncRuns", res.SyncRuns, "outboxItems", res.Outbox)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
