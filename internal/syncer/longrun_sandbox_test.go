package syncer

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	"github.com/horizon/reconciler/internal/store"
)

// hook runs fn before each request the client sends.
type hook struct {
	next http.RoundTripper
	fn   func()
}

func (h *hook) RoundTrip(r *http.Request) (*http.Response, error) {
	h.fn()
	return h.next.RoundTrip(r)
}

// TestSandboxLongRunCoversChangesMadeDuringIt runs a backfill on every
// emulated PSA, with the PSA's clock moving a minute per request, so that
// the run lasts many times the overlap. During it, staff edit a ticket
// whose page was already read and, all along, tickets not yet read. The
// next incremental run must leave the store equal to the PSA. It does
// so with the PSA's clock on time, 10 minutes behind ours (so that the
// run's start must be read from the PSA's clock: ours would put the
// watermark past the edit) and 10 minutes ahead.
func TestSandboxLongRunCoversChangesMadeDuringIt(t *testing.T) {
	for _, spec := range psaSpecs {
		for _, skew := range []time.Duration{0, -10 * time.Minute, 10 * time.Minute} {
			t.Run(fmt.Sprintf("%s/psa clock %+v", spec.name, skew), func(t *testing.T) {
				longRun(t, spec, skew)
			})
		}
	}
}

func longRun(t *testing.T, spec psaSpec, skew time.Duration) {
	e := newSandboxEnv(t, spec, sandboxOpts{tickets: 200})
	e.world.SetClockSkew(skew)
	byWire := map[string]int64{}
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	for _, tk := range all {
		byWire[spec.wireID(tk.ID)] = tk.ID
	}
	staff := sandbox.UI(e.world.Members()[0].ID)
	var (
		mu      sync.Mutex
		on      = true
		n       int
		editedA string // the ticket edited after its page was read
	)
	e.reqs.next = &hook{next: http.DefaultTransport, fn: func() {
		mu.Lock()
		defer mu.Unlock()
		if !on {
			return
		}
		n++
		e.clock.Set(e.clock.Now().Add(time.Minute))
		if editedA == "" && n >= 4 {
			for tk, err := range e.st.Tickets(context.Background(), e.scope) {
				if err != nil {
					break
				}
				if _, err := e.world.UpdateTicket(byWire[tk.ExternalID], staff, func(t *sandbox.Ticket) error {
					t.Summary = "edited after its page was read"
					return nil
				}); err == nil {
					editedA = tk.ExternalID
				}
				break
			}
		}
		// Staff go on editing tickets further down the listing.
		if i := len(all) - n; i > 0 {
			_, _ = e.world.UpdateTicket(all[i].ID, staff, func(t *sandbox.Ticket) error {
				t.Summary += " (edited during the run)"
				return nil
			})
		}
	}}
	s := e.syncer(t, func(o *Options) { o.PageSize = 5 })
	if _, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	on, requests, edited := false, n, editedA
	mu.Unlock()
	if requests < 12 || edited == "" {
		t.Fatalf("the run made %d requests and edited %q: too short to outlast the overlap", requests, edited)
	}
	e.clock.Set(e.clock.Now().Add(time.Minute))
	if _, err := s.SyncEntity(context.Background(), helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
		t.Fatal(err)
	}
	e.compareWorld(t, e.clock.Now().Add(-30*24*time.Hour))
}

// TestSandboxPSATime reads each emulated PSA's clock, 10 minutes behind
// ours, through its client: within the Date header's second of it, and
// never our clock.
func TestSandboxPSATime(t *testing.T) {
	for _, spec := range psaSpecs {
		t.Run(spec.name, func(t *testing.T) {
			e := newSandboxEnv(t, spec, sandboxOpts{tickets: 10})
			e.world.SetClockSkew(-10 * time.Minute)
			e.clock.Set(e.clock.Now().Add(time.Hour)) // since the client's last answer; the ping reads it again
			if err := e.psa.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			c, ok := e.psa.(PSAClock)
			if !ok {
				t.Fatal("the client is not a PSAClock")
			}
			got, err := c.PSATime(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := e.world.Now(); got.Before(want.Add(-time.Second)) || got.After(want.Add(time.Second)) {
				t.Errorf("PSA time %v, want %v (ours %v)", got, want, e.clock.Now())
			}
		})
	}
}
