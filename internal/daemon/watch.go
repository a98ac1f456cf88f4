package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/horizon/reconciler/internal/config"
)

// Debounce waits, as consul-template's wait {min, max} does: a change is
// acted on once the file has been quiet for Min, and at the latest Max after
// the first change of a burst.
type Debounce struct {
	Min, Max time.Duration
}

// DefaultDebounce suits editors that write a temp file and rename it.
var DefaultDebounce = Debounce{Min: 300 * time.Millisecond, Max: 3 * time.Second}

// FileWatcher watches one file for changes. It watches the directory, not
// the file, so that an editor's write-temp-then-rename, or a Kubernetes
// ConfigMap's symlink swap, is seen.
type FileWatcher struct {
	w    *fsnotify.Watcher
	base string // "" when watching a directory of account files
}

// NewWatcher watches an account file (see NewFileWatcher) or, for a
// directory, every account file in it (config.IsAccountFile): a file
// added, changed or removed is a change.
func NewWatcher(path string) (*FileWatcher, error) {
	if !config.IsDir(path) {
		return NewFileWatcher(path)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", path, err)
	}
	if err := w.Add(path); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch %s: %w", path, err)
	}
	return &FileWatcher{w: w}, nil
}

// NewFileWatcher starts watching path's directory; changes made after it
// returns are seen by Run.
func NewFileWatcher(path string) (*FileWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", path, err)
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch %s: %w", filepath.Dir(path), err)
	}
	return &FileWatcher{w: w, base: filepath.Base(path)}, nil
}

// Run sends on out (without blocking: one pending signal is enough) once
// per debounced burst of changes. It closes the watcher and returns when ctx
// ends.
func (fw *FileWatcher) Run(ctx context.Context, d Debounce, out chan<- struct{}, log *slog.Logger) error {
	w, base := fw.w, fw.base
	defer w.Close()
	var quiet, deadline *time.Timer
	var quietC, deadlineC <-chan time.Time
	fire := func() {
		stop(quiet)
		stop(deadline)
		quietC, deadlineC = nil, nil
		select {
		case out <- struct{}{}:
		default:
		}
	}
	for {
		select {
		case <-ctx.Done():
			stop(quiet)
			stop(deadline)
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if !relevant(ev, base) {
				continue
			}
			stop(quiet)
			quiet = time.NewTimer(d.Min)
			quietC = quiet.C
			if deadlineC == nil {
				deadline = time.NewTimer(d.Max)
				deadlineC = deadline.C
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			log.WarnContext(ctx, "config watch error", "err", err)
		case <-quietC:
			fire()
		case <-deadlineC:
			fire()
		}
	}
}

// relevant keeps events on the file itself (any account file when base
// is "") and on Kubernetes' ..data symlink swaps.
func relevant(ev fsnotify.Event, base string) bool {
	name := filepath.Base(ev.Name)
	switch {
	case name == "..data":
	case base == "" && config.IsAccountFile(name):
	case base != "" && name == base:
	default:
		return false
	}
	return ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) != 0
}

func stop(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}
