package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no change signal after %s", what)
	}
}

func TestWatchFileSeesWritesAndRenames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "horizon.yaml")
	if err := os.WriteFile(path, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan struct{}, 1)
	done := make(chan error, 1)
	fw, err := NewFileWatcher(path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		done <- fw.Run(ctx, Debounce{Min: 20 * time.Millisecond, Max: time.Second}, ch, slog.Default())
	}()

	os.WriteFile(path, []byte("a: 2\n"), 0o600)
	waitSignal(t, ch, "an in-place write")

	// An editor's save: write a temp file, rename it over the original.
	tmp := filepath.Join(dir, ".horizon.yaml.swp")
	if err := os.WriteFile(tmp, []byte("a: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "a rename over the file")

	// Other files in the directory are ignored.
	os.WriteFile(filepath.Join(dir, "other.txt"), []byte("x"), 0o600)
	select {
	case <-ch:
		t.Fatal("a change to another file signalled")
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWatchFileDebouncesBursts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "horizon.yaml")
	os.WriteFile(path, []byte("a: 1\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan struct{}, 10)
	fw, err := NewFileWatcher(path)
	if err != nil {
		t.Fatal(err)
	}
	go fw.Run(ctx, Debounce{Min: 300 * time.Millisecond, Max: 5 * time.Second}, ch, slog.Default())
	for i := range 5 {
		os.WriteFile(path, []byte{byte('0' + i)}, 0o600)
	}
	waitSignal(t, ch, "a burst of writes")
	select {
	case <-ch:
		t.Fatal("a burst of writes signalled twice")
	case <-time.After(600 * time.Millisecond):
	}
}
