package callback_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// TestForgedFloodOnSQLite: 5,000 unauthenticated POSTs of 4 KiB through
// HTTP to an Autotask receiver on SQLite add at most a burst of rows and
// 50 KiB of bodies to the callback log (it was one row and 1 KiB each).
func TestForgedFloodOnSQLite(t *testing.T) {
	r := newRig(t, helpdesk.Autotask)
	body := bytes.Repeat([]byte("x"), 4<<10)
	codes := map[int]int{}
	for range 5000 {
		res, err := http.Post(r.srv.URL+"/callbacks/autotask", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes[res.StatusCode]++
	}
	recs, err := r.st.Callbacks(context.Background(), r.scope, store.CallbackFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, rec := range recs {
		size += len(rec.Payload)
	}
	if len(recs) > callback.DefaultRejectBurst || size > callback.DefaultRejectBodies<<10 {
		t.Errorf("%d rows and %d body bytes logged for 5,000 forged POSTs", len(recs), size)
	}
	if codes[http.StatusUnauthorized] != len(recs) || codes[http.StatusTooManyRequests] != 5000-len(recs) {
		t.Errorf("answers %v for %d logged rows", codes, len(recs))
	}
}
