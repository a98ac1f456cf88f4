package transport

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// dropped answers nothing: the connection closes after the request was
// read, as when the PSA applied a write and the answer was lost.
func dropped(w http.ResponseWriter, _ *http.Request) { panic(http.ErrAbortHandler) }

func TestUnrepeatable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		steps     []http.HandlerFunc
		wantCalls int
		wantErr   error
	}{
		{"429 is retried: the PSA refused before processing", []http.HandlerFunc{status(429), ok}, 2, nil},
		{"500 is not retried: the outcome is unknown", []http.HandlerFunc{status(500), ok}, 1, helpdesk.ErrTransient},
		{"a dropped answer is not retried", []http.HandlerFunc{dropped, ok}, 1, helpdesk.ErrTransient},
		{"a garbled answer is not retried", []http.HandlerFunc{func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"id":`))
		}, ok}, 1, helpdesk.ErrTransient},
		{"a 400 is final", []http.HandlerFunc{status(400), ok}, 1, helpdesk.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, tc.steps...)
			var out map[string]any
			_, err := h.c.DoJSON(Unrepeatable(context.Background()), "create", h.get("/x"), &out)
			if h.s.count() != tc.wantCalls {
				t.Errorf("calls = %d, want %d", h.s.count(), tc.wantCalls)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	// Without the mark the same 500 is retried as before.
	h := newHarness(t, Config{}, status(500), ok)
	if _, err := h.do(t); err != nil || h.s.count() != 2 {
		t.Errorf("plain request: calls = %d, err = %v; want 2 calls and success", h.s.count(), err)
	}
}
