package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/store"
)

func TestSecondDaemonIsRefused(t *testing.T) {
	url := tempURL(t)
	first, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if err := store.ClaimDaemon(first); err != nil {
		t.Fatalf("first daemon: %v", err)
	}
	if err := store.ClaimDaemon(first); err != nil {
		t.Fatalf("claiming twice in one daemon: %v", err)
	}

	second, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err) // CLI commands (logs, plan) still open the file
	}
	defer second.Close()
	err = store.ClaimDaemon(second)
	if !errors.Is(err, store.ErrInUse) {
		t.Fatalf("second daemon: err = %v, want ErrInUse", err)
	}
	msg := err.Error()
	for _, want := range []string{strings.TrimPrefix(url, "sqlite:"), fmt.Sprintf("pid %d on ", os.Getpid()), "PostgreSQL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}

	// Once the first daemon stops, the next one starts.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := store.ClaimDaemon(second); err != nil {
		t.Errorf("after the first daemon stopped: %v", err)
	}
}
