package writeback

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

func mustPayload(t *testing.T, w store.Write) payload {
	t.Helper()
	var p payload
	must(t, json.Unmarshal(w.Payload, &p))
	return p
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
