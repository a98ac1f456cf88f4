package syncer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// ProgressUpdate is the state of one sync run in progress.
type ProgressUpdate struct {
	Entity  helpdesk.Entity
	Trigger string
	Objects int64 // records received from the PSA so far
	Pages   int   // pages received so far
	Total   int64 // records the run will receive; 0 when unknown
	Elapsed time.Duration
}

// Rate returns records received per second.
func (u ProgressUpdate) Rate() float64 {
	if u.Elapsed <= 0 {
		return 0
	}
	return float64(u.Objects) / u.Elapsed.Seconds()
}

// Progress is told how sync runs advance. The engine calls Begin once per
// run, Update after every page received and End once. Implementations must
// be safe for concurrent use: runs of different entities may overlap.
type Progress interface {
	Begin(u ProgressUpdate)
	Update(u ProgressUpdate)
	End(u ProgressUpdate, err error)
}

// Counter is implemented by providers that can count the records a query
// selects with one cheap request. When the provider has it and a Progress
// is set, runs report a total (and the terminal bar an ETA).
type Counter interface {
	Count(ctx context.Context, e helpdesk.Entity, q helpdesk.Query) (int, error)
}

type nopProgress struct{}

func (nopProgress) Begin(ProgressUpdate)      {}
func (nopProgress) Update(ProgressUpdate)     {}
func (nopProgress) End(ProgressUpdate, error) {}

// runKey tells overlapping runs apart.
type runKey struct {
	entity  helpdesk.Entity
	trigger string
}

// TerminalProgress draws a progress bar per run on a terminal: records
// and pages done, the rate, and the ETA when the total is known.
type TerminalProgress struct {
	w    io.Writer
	mu   sync.Mutex
	bars map[runKey]*progressbar.ProgressBar
}

// NewTerminalProgress returns a TerminalProgress writing to w (usually
// os.Stderr).
func NewTerminalProgress(w io.Writer) *TerminalProgress {
	return &TerminalProgress{w: w, bars: map[runKey]*progressbar.ProgressBar{}}
}

// Begin implements Progress.
func (p *TerminalProgress) Begin(u ProgressUpdate) {
	max := u.Total
	if max <= 0 {
		max = -1
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(describe(u)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionSetPredictTime(u.Total > 0),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetSpinnerChangeInterval(0), // no background goroutine
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bars[runKey{u.Entity, u.Trigger}] = bar
}

// Update implements Progress.
func (p *TerminalProgress) Update(u ProgressUpdate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bar := p.bars[runKey{u.Entity, u.Trigger}]; bar != nil {
		bar.Describe(describe(u))
		_ = bar.Set64(u.Objects)
	}
}

// End implements Progress.
func (p *TerminalProgress) End(u ProgressUpdate, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := runKey{u.Entity, u.Trigger}
	bar := p.bars[k]
	if bar == nil {
		return
	}
	delete(p.bars, k)
	bar.Describe(describe(u))
	_ = bar.Set64(u.Objects)
	if err != nil {
		_ = bar.Exit()
		fmt.Fprintf(p.w, "\n%s: failed after %d records\n", u.Entity, u.Objects)
		return
	}
	_ = bar.Finish()
}

func describe(u ProgressUpdate) string {
	return fmt.Sprintf("%s %s (%d pages)", u.Trigger, u.Entity, u.Pages)
}

// LogProgress logs one line every few pages and one at the end of each
// run, for CI and --quiet.
type LogProgress struct {
	log   *slog.Logger
	every int
}

// NewLogProgress returns a LogProgress logging to log every everyPages
// pages (at least 1; 0 means 10).
func NewLogProgress(log *slog.Logger, everyPages int) *LogProgress {
	if everyPages <= 0 {
		everyPages = 10
	}
	if log == nil {
		log = slog.Default()
	}
	return &LogProgress{log: log, every: everyPages}
}

// Begin implements Progress.
func (p *LogProgress) Begin(ProgressUpdate) {}

// Update implements Progress.
func (p *LogProgress) Update(u ProgressUpdate) {
	if u.Pages > 0 && u.Pages%p.every == 0 {
		p.log.Info("sync progress", p.attrs(u)...)
	}
}

// End implements Progress.
func (p *LogProgress) End(u ProgressUpdate, err error) {
	if err != nil {
		p.log.Warn("sync progress: run failed", append(p.attrs(u), "err", err)...)
		return
	}
	p.log.Info("sync progress: run done", p.attrs(u)...)
}

func (p *LogProgress) attrs(u ProgressUpdate) []any {
	a := []any{"entity", u.Entity, "trigger", u.Trigger, "records", u.Objects, "pages", u.Pages,
		"rate", fmt.Sprintf("%.0f/s", u.Rate()), "elapsed", u.Elapsed.Round(time.Second)}
	if u.Total > 0 {
		a = append(a, "total", u.Total)
	}
	return a
}
