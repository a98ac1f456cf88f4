package zohodesk_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	zdsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
)

// drain reads a stream to its end and returns what it yielded and the
// error that ended it.
func drain[T any](seq func(func([]T, error) bool)) ([]T, error) {
	var all []T
	for page, err := range seq {
		if err != nil {
			return all, err
		}
		all = append(all, page...)
	}
	return all, nil
}

// A 200 with an empty body, null, HTML or a cut-off page in the middle of
// a listing is never the end of the data: it is asked again, and when it
// stays broken the listing fails instead of ending early as if complete.
func TestListBodyFaults(t *testing.T) {
	faults := []sandbox.BrokenBody{sandbox.BodyEmpty, sandbox.BodyNull, sandbox.BodyHTML, sandbox.BodyTruncated}
	for _, f := range faults {
		t.Run(string(f)+" persistent", func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: 300})
			e.emu.SetPageFaults(zdsandbox.PageFault{Path: "/api/v1/tickets/search", Request: 3, Fault: f})
			got, err := drain(e.client(t).Tickets(context.Background(), helpdesk.Query{PageSize: 50}))
			if err == nil {
				t.Fatalf("listing ended with %d of %d tickets and no error", len(got), len(liveTickets(e.world)))
			}
			if !errors.Is(err, helpdesk.ErrTransient) {
				t.Fatalf("err = %v, want a transient (retried) failure", err)
			}
		})
		t.Run(string(f)+" once", func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: 300})
			e.emu.SetPageFaults(zdsandbox.PageFault{Path: "/api/v1/tickets/search", Request: 3, Fault: f, Times: 1})
			got, err := drain(e.client(t).Tickets(context.Background(), helpdesk.Query{PageSize: 50}))
			if err != nil {
				t.Fatalf("one broken page was not retried: %v", err)
			}
			if want := len(liveTickets(e.world)); len(got) != want {
				t.Fatalf("got %d tickets, want %d", len(got), want)
			}
		})
	}
}

// Zoho's 204 stays the end of a list: a department list shorter than a
// page and an empty comment list end without an error.
func TestNoContentIsTheEnd(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	ctx := context.Background()
	ticket := zdsandbox.WireID(liveTickets(e.world)[0].ID)
	if _, err := c.Notes(ctx, ticket); err != nil {
		t.Fatalf("notes: %v", err)
	}
	if _, err := c.Picklists(ctx); err != nil {
		t.Fatalf("picklists: %v", err)
	}
}

// A 429 from the token endpoint is retried after its Retry-After, as on
// data calls.
func TestTokenEndpointRateLimited(t *testing.T) {
	e := newEnv(t, envOpts{})
	sl := &sleeps{}
	c := newClient(t, e.config())
	c.SetSleep(sl.sleep)
	e.emu.ThrottleTokens(2, 60*time.Second)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("ping after two throttled token requests: %v", err)
	}
	if got := e.emu.TokenRequests(); got != 3 {
		t.Fatalf("token requests = %d, want 3 (two 429s, one grant)", got)
	}
	waits := sl.all()
	if len(waits) != 2 || waits[0] != 60*time.Second || waits[1] != 60*time.Second {
		t.Fatalf("waits %v, want Retry-After 60s twice", waits)
	}
}

// Concurrent entity syncs share one grant, and one failure: a throttled
// token endpoint whose Retry-After is beyond the bound is asked once, not
// once per caller.
func TestOneGrantForConcurrentCalls(t *testing.T) {
	ping := func(c interface{ Ping(context.Context) error }, n int) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = c.Ping(context.Background()) })
		}
		wg.Wait()
		return errs
	}
	t.Run("success", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		for _, err := range ping(e.client(t), 8) {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := e.emu.TokenRequests(); got != 1 {
			t.Fatalf("token requests = %d, want 1", got)
		}
	})
	t.Run("throttled beyond the bound", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		e.emu.ThrottleTokens(100, 10*time.Minute)
		for _, err := range ping(e.client(t), 8) {
			if !errors.Is(err, helpdesk.ErrRateLimited) {
				t.Fatalf("err = %v, want rate limited", err)
			}
		}
		if got := e.emu.TokenRequests(); got != 1 {
			t.Fatalf("token requests = %d, want 1: waiting callers must share the failure", got)
		}
	})
}

// memCache is a TokenCache in memory, standing for the store.
type memCache struct {
	mu sync.Mutex
	m  map[string]helpdesk.CachedToken
}

func (c *memCache) LoadToken(_ context.Context, key string) (helpdesk.CachedToken, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[key]
	return t, ok, nil
}

func (c *memCache) SaveToken(_ context.Context, key string, t helpdesk.CachedToken) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]helpdesk.CachedToken{}
	}
	c.m[key] = t
	return nil
}

// Two processes of one account (two clients over one cache) make one
// grant; a token revoked for one is replaced once and the other picks the
// new one up.
func TestTokenSharedAcrossProcesses(t *testing.T) {
	e := newEnv(t, envOpts{})
	cache := &memCache{}
	cfg := e.config()
	cfg.TokenCache = cache
	ctx := context.Background()
	a, b := newClient(t, cfg), newClient(t, cfg)
	if err := a.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.TokensIssued(); got != 1 {
		t.Fatalf("tokens issued = %d for two processes, want 1", got)
	}
	for _, v := range cache.m {
		if v.Sealed == "" || containsToken(v.Sealed) {
			t.Fatalf("cached token is stored in the clear: %q", v.Sealed)
		}
	}
	e.emu.RevokeAccessTokens()
	if err := a.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.emu.TokensIssued(); got != 2 {
		t.Fatalf("tokens issued = %d after one revocation, want 2", got)
	}
	other := e.config()
	other.ClientSecret = "another-secret"
	other.TokenCache = cache
	if err := newClient(t, other).Ping(ctx); err == nil {
		t.Fatal("a client with another secret used the cached token")
	}
}

func containsToken(s string) bool { return len(s) > 5 && s[:5] == "1000." }

// APIUser is the agent of the token (GET /myinfo).
func TestAPIUser(t *testing.T) {
	e := newEnv(t, envOpts{})
	m, err := e.client(t).APIUser(context.Background())
	if want := zdsandbox.WireID(e.world.APIUser().ID); err != nil || m.ExternalID != want || m.Email == "" {
		t.Fatalf("APIUser = %+v, %v; want agent %s", m, err, want)
	}
}

// Listed tickets name their queue (department), from one departments
// request per stream, not one per page.
func TestTicketsNameTheirDepartment(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 250})
	var deptCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/departments" {
			deptCalls.Add(1)
		}
		e.emu.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := e.config()
	cfg.BaseURL = srv.URL
	got, err := drain(newClient(t, cfg).Tickets(context.Background(), helpdesk.Query{PageSize: 50}))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, q := range e.world.Queues() {
		names[zdsandbox.WireID(q.ID)] = q.Name
	}
	for _, tk := range got {
		if tk.Queue.Name == "" || tk.Queue.Name != names[tk.Queue.ID] {
			t.Fatalf("ticket %s queue %+v, want %q", tk.ExternalID, tk.Queue, names[tk.Queue.ID])
		}
	}
	if n := deptCalls.Load(); n != 1 {
		t.Fatalf("%d departments requests for %d tickets, want 1", n, len(got))
	}
}

// A record of the wrong type is left out and reported with its id; the
// rest of the listing goes on.
func TestWrongTypedTicketSkipped(t *testing.T) {
	probe := newEnv(t, envOpts{tickets: 150})
	bad := liveTickets(probe.world)[100].ID
	e := newEnv(t, envOpts{tickets: 150, zo: zdsandbox.Options{MalformedTicket: bad}})
	var skipped []helpdesk.Skipped
	q := helpdesk.Query{PageSize: 50, Skip: func(s helpdesk.Skipped) { skipped = append(skipped, s) }}
	got, err := drain(e.client(t).Tickets(context.Background(), q))
	if err != nil {
		t.Fatalf("one bad record failed the listing: %v", err)
	}
	if len(got) != 149 || len(skipped) != 1 || skipped[0].ID != zdsandbox.WireID(bad) || skipped[0].Entity != helpdesk.EntityTickets {
		t.Fatalf("got %d tickets, skipped %+v; want 149 and %s reported", len(got), skipped, zdsandbox.WireID(bad))
	}
}

// A one-ticket read answered 200 with no body is a transient failure,
// never "not found" (which would read as a deleted ticket).
func TestGetTicketEmptyBodyIsNotNotFound(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := zdsandbox.WireID(liveTickets(e.world)[0].ID)
	e.emu.SetPageFaults(zdsandbox.PageFault{Path: "/api/v1/tickets/" + id, Request: 1, Fault: sandbox.BodyEmpty})
	_, err := e.client(t).GetTicket(context.Background(), id)
	if errors.Is(err, helpdesk.ErrNotFound) || !errors.Is(err, helpdesk.ErrTransient) {
		t.Fatalf("err = %v, want transient, not not-found", err)
	}
}

// A record beyond MaxRecordBytes is left out and reported with its id.
func TestOversizedTicketSkipped(t *testing.T) {
	probe := newEnv(t, envOpts{tickets: 150})
	big := liveTickets(probe.world)[30].ID
	e := newEnv(t, envOpts{tickets: 150, zo: zdsandbox.Options{OversizedTicket: big}})
	var skipped []helpdesk.Skipped
	q := helpdesk.Query{Skip: func(s helpdesk.Skipped) { skipped = append(skipped, s) }}
	got, err := drain(e.client(t).Tickets(context.Background(), q))
	if err != nil || len(got) != 149 || len(skipped) != 1 || skipped[0].ID != zdsandbox.WireID(big) {
		t.Fatalf("got %d tickets (%v), skipped %+v; want 149 and %s reported", len(got), err, skipped, zdsandbox.WireID(big))
	}
}
