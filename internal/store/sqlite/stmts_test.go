package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sqlitedriver "modernc.org/sqlite"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/storetest"
)

// parses counts the statements that reach SQLite's parser through the
// "sqlite-counting" driver: each prepare, and each query or exec run
// without a prepared statement.
var parses atomic.Int64

func init() { sql.Register("sqlite-counting", countingDriver{}) }

type countingDriver struct{}

func (countingDriver) Open(name string) (driver.Conn, error) {
	c, err := (&sqlitedriver.Driver{}).Open(name)
	if err != nil {
		return nil, err
	}
	return countingConn{c}, nil
}

// countingConn forwards to the SQLite driver's connection.
type countingConn struct{ driver.Conn }

func (c countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	parses.Add(1)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	parses.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	parses.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c countingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c countingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// hotPath is one of the calls a callback-driven sync and the write-back
// loop make per webhook or per poll. prepare readies n calls on s, and
// returns the ith call.
type hotPath struct {
	name    string
	prepare func(t testing.TB, s *Store, n int) func(i int) error
}

var hotPaths = []hotPath{
	{"InsertCallbacks", func(t testing.TB, s *Store, n int) func(int) error {
		return func(i int) error {
			_, _, err := s.InsertCallbacks(t.Context(), storetest.Scope, []store.CallbackRecord{callback(i)})
			return err
		}
	}},
	{"PendingCallbacks", func(t testing.TB, s *Store, n int) func(int) error {
		insertCallbacks(t, s, 20)
		return func(int) error {
			_, err := s.PendingCallbacks(t.Context(), storetest.Scope, 100)
			return err
		}
	}},
	{"MarkCallbacks", func(t testing.TB, s *Store, n int) func(int) error {
		ids := insertCallbacks(t, s, n)
		return func(i int) error {
			return s.MarkCallbacks(t.Context(), storetest.Scope, ids[i:i+1], store.CallbackProcessed, "", at(i))
		}
	}},
	{"WriteBatch", func(t testing.TB, s *Store, n int) func(int) error {
		return func(i int) error { return writeTicket(t, s, i) }
	}},
	{"WriteBatch(one)", func(t testing.TB, s *Store, n int) func(int) error {
		return func(i int) error {
			tk := storetest.Ticket("101", at(i), fmt.Sprint("summary ", i))
			_, err := s.WriteBatch(t.Context(), storetest.Scope, store.Batch{Entity: helpdesk.EntityTickets,
				Tickets: []helpdesk.Ticket{tk}})
			return err
		}
	}},
	{"Watermark", func(t testing.TB, s *Store, n int) func(int) error {
		if err := writeTicket(t, s, 0); err != nil {
			t.Fatal(err)
		}
		return func(int) error {
			_, err := s.Watermark(t.Context(), storetest.Scope, helpdesk.EntityTickets)
			return err
		}
	}},
	{"Ticket", func(t testing.TB, s *Store, n int) func(int) error {
		if err := writeTicket(t, s, 0); err != nil {
			t.Fatal(err)
		}
		return func(int) error {
			_, err := s.Ticket(t.Context(), storetest.Scope, "101")
			return err
		}
	}},
	{"StartSyncRun", func(t testing.TB, s *Store, n int) func(int) error {
		return func(i int) error { _, err := startRun(t, s, i); return err }
	}},
	{"UpdateSyncRun", func(t testing.TB, s *Store, n int) func(int) error {
		id := startRuns(t, s, 1)[0]
		return func(i int) error {
			return s.UpdateSyncRun(t.Context(), storetest.Scope, store.SyncRun{ID: id, Updated: i})
		}
	}},
	{"FinishSyncRun", func(t testing.TB, s *Store, n int) func(int) error {
		ids := startRuns(t, s, n)
		return func(i int) error {
			return s.FinishSyncRun(t.Context(), storetest.Scope, store.SyncRun{ID: ids[i], Updated: 1, FinishedAt: at(i)})
		}
	}},
	{"RecordSyncRun", func(t testing.TB, s *Store, n int) func(int) error {
		return func(i int) error {
			_, err := s.RecordSyncRun(t.Context(), storetest.Scope, store.SyncRun{Trigger: "callback",
				Entity: helpdesk.EntityTickets, TicketID: "101", StartedAt: at(i), FinishedAt: at(i), Updated: 1})
			return err
		}
	}},
	{"AcquireLease", func(t testing.TB, s *Store, n int) func(int) error {
		return func(int) error {
			_, err := s.AcquireLease(t.Context(), "account/acme", "replica-1", time.Minute)
			return err
		}
	}},
	{"ClaimOutbox", func(t testing.TB, s *Store, n int) func(int) error {
		return func(i int) error {
			_, err := s.ClaimOutbox(t.Context(), storetest.Scope, 10, time.Minute, at(i))
			return err
		}
	}},
	{"OutboxStats", func(t testing.TB, s *Store, n int) func(int) error {
		return func(int) error {
			_, err := s.OutboxStats(t.Context(), storetest.Scope)
			return err
		}
	}},
	{"ClaimWrites", func(t testing.TB, s *Store, n int) func(int) error {
		enqueueWrites(t, s, 1)
		return func(i int) error {
			_, err := s.ClaimWrites(t.Context(), storetest.Scope, 10, time.Minute, at(i))
			return err
		}
	}},
	{"FinishWrite", func(t testing.TB, s *Store, n int) func(int) error {
		ids := enqueueWrites(t, s, n)
		if _, err := s.ClaimWrites(t.Context(), storetest.Scope, n, time.Hour, at(0)); err != nil {
			t.Fatal(err)
		}
		return func(i int) error {
			return s.FinishWrite(t.Context(), storetest.Scope, ids[i], store.WriteOutcome{Attempt: 1, State: store.WriteDone, At: at(i)})
		}
	}},
	{"Write", func(t testing.TB, s *Store, n int) func(int) error {
		id := enqueueWrites(t, s, 1)[0]
		return func(int) error {
			_, err := s.Write(t.Context(), storetest.Scope, id)
			return err
		}
	}},
	{"Writes(echo)", func(t testing.TB, s *Store, n int) func(int) error {
		enqueueWrites(t, s, 1)
		return func(i int) error {
			_, err := s.Writes(t.Context(), storetest.Scope, store.WriteFilter{TicketID: "101",
				States: []string{store.WriteDone}, FinishedSince: at(i - 60), Limit: 1})
			return err
		}
	}},
	{"OutboxBacklogs", func(t testing.TB, s *Store, n int) func(int) error {
		enqueueWrites(t, s, 1)
		return func(int) error {
			_, err := s.OutboxBacklogs(t.Context())
			return err
		}
	}},
	{"Picklists", func(t testing.TB, s *Store, n int) func(int) error {
		return func(int) error {
			_, _, err := s.Picklists(t.Context(), storetest.Scope)
			return err
		}
	}},
}

func at(i int) time.Time { return storetest.T0.Add(time.Duration(i) * time.Second) }

func callback(i int) store.CallbackRecord {
	return store.CallbackRecord{ReceivedAt: at(i), Provider: storetest.Scope.Provider, Event: "ticket.updated",
		DeliveryID: fmt.Sprint("d", i), ExternalIDs: []string{"101"}, Verified: true,
		Result: store.CallbackAccepted, Payload: []byte(`{"ID":101}`)}
}

func insertCallbacks(t testing.TB, s *Store, n int) []int64 {
	recs := make([]store.CallbackRecord, n)
	for i := range recs {
		recs[i] = callback(-i - 1)
	}
	ids, _, err := s.InsertCallbacks(t.Context(), storetest.Scope, recs)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func writeTicket(t testing.TB, s *Store, i int) error {
	tk := storetest.Ticket("101", at(i), fmt.Sprint("summary ", i))
	_, err := s.WriteBatch(t.Context(), storetest.Scope, store.Batch{Entity: helpdesk.EntityTickets,
		Tickets: []helpdesk.Ticket{tk}, Watermark: &store.Watermark{UpdatedThrough: at(i)}})
	return err
}

func startRun(t testing.TB, s *Store, i int) (int64, error) {
	return s.StartSyncRun(t.Context(), storetest.Scope, store.SyncRun{Trigger: "callback",
		Entity: helpdesk.EntityTickets, TicketID: "101", StartedAt: at(i)})
}

func startRuns(t testing.TB, s *Store, n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		var err error
		if ids[i], err = startRun(t, s, i); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func enqueueWrites(t testing.TB, s *Store, n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		w, _, err := s.EnqueueWrite(t.Context(), storetest.Scope, store.Write{Op: store.OpAddNote, TicketID: "101",
			Author: "jane.doe@acme-msp.com", Payload: []byte(`{"text":"x"}`), IdempotencyKey: fmt.Sprint("k", i),
			RequestHash: "h", Marker: fmt.Sprint("m", i), CreatedAt: at(0)})
		if err != nil {
			t.Fatalf("EnqueueWrite: %v", err)
		}
		ids[i] = w.ID
	}
	return ids
}

// TestHotPathsParseOnce checks that once a hot path ran, running it
// again reaches no SQLite parser: its statements stay prepared, in
// transactions too.
func TestHotPathsParseOnce(t *testing.T) {
	s, err := open(t.Context(), tempURL(t), "sqlite-counting")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	s.r.SetMaxOpenConns(1) // one reader connection: a statement is prepared once per connection
	for _, p := range hotPaths {
		run := p.prepare(t, s, 3)
		for i := range 3 {
			before := parses.Load()
			if err := run(i); err != nil {
				t.Fatalf("%s #%d: %v", p.name, i, err)
			}
			if n := parses.Load() - before; i > 0 && n != 0 {
				t.Errorf("%s #%d: %d statements parsed, want 0 (all prepared)", p.name, i, n)
			}
		}
	}
}

func TestPreparedErrors(t *testing.T) {
	s, ctx := benchStore(t), t.Context()
	const bad = `SELECT nope FROM nowhere WHERE x = ?`
	var v int
	if err := s.rst.QueryRowContext(ctx, bad, 1).Scan(&v); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("QueryRowContext of a bad statement: %v, want an error naming the table", err)
	}
	if _, err := s.wst.ExecContext(ctx, bad, 1); err == nil {
		t.Error("ExecContext of a bad statement: no error")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.wst.in(tx).QueryRowContext(ctx, bad, 1).Scan(&v)
	})
	if err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("QueryRowContext of a bad statement in a transaction: %v, want an error naming the table", err)
	}
	// A failed statement is not kept, and the store goes on working.
	if n := len(s.wst.m) + len(s.wst.want) + len(s.rst.m); n != 0 {
		t.Errorf("%d statements kept after failures, want 0", n)
	}
	if _, err := s.StartSyncRun(ctx, storetest.Scope, store.SyncRun{Trigger: "manual", Entity: helpdesk.EntityTickets}); err != nil {
		t.Errorf("StartSyncRun after failures: %v", err)
	}
}

// TestPreparedAfterSchemaChange checks that a statement prepared before
// another connection changed the schema still runs, on the new schema.
func TestPreparedAfterSchemaChange(t *testing.T) {
	url := tempURL(t)
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx, sc := t.Context(), storetest.Scope
	w := store.Watermark{UpdatedThrough: storetest.T0, Cursor: "c1"}
	if err := s.SetWatermark(ctx, sc, helpdesk.EntityTickets, w); err != nil {
		t.Fatalf("SetWatermark: %v", err)
	}
	if _, err := s.Watermark(ctx, sc, helpdesk.EntityTickets); err != nil {
		t.Fatalf("Watermark: %v", err)
	}
	other, err := sql.Open("sqlite", strings.TrimPrefix(url, "sqlite:")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, q := range []string{`CREATE INDEX watermarks_cursor ON watermarks (cursor)`, `ALTER TABLE watermarks ADD COLUMN note TEXT`} {
		if _, err := other.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	w.Cursor = "c2"
	if err := s.SetWatermark(ctx, sc, helpdesk.EntityTickets, w); err != nil {
		t.Fatalf("SetWatermark after the schema changed: %v", err)
	}
	got, err := s.Watermark(ctx, sc, helpdesk.EntityTickets)
	if err != nil || got.Cursor != "c2" {
		t.Fatalf("Watermark after the schema changed: %+v, %v; want cursor c2", got, err)
	}
}

// TestPreparedConcurrent runs transactions and single statements on the
// writer at once, while their statements get prepared: preparing must
// never wait for the connection a transaction holds.
func TestPreparedConcurrent(t *testing.T) {
	s := benchStore(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				sc := store.Scope{Account: fmt.Sprint("acct", g), Provider: storetest.Scope.Provider}
				ids, _, err := s.InsertCallbacks(ctx, sc, []store.CallbackRecord{{Event: "ticket.updated",
					DeliveryID: fmt.Sprint(i), ExternalIDs: []string{"1"}, Result: store.CallbackAccepted}})
				if err == nil {
					err = s.MarkCallbacks(ctx, sc, ids, store.CallbackProcessed, "", time.Time{})
				}
				if err == nil {
					_, err = s.StartSyncRun(ctx, sc, store.SyncRun{Trigger: "callback", Entity: helpdesk.EntityTickets})
				}
				if err == nil {
					_, err = s.PendingCallbacks(ctx, sc, 10)
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d call %d: %w", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("calls did not finish within a minute (waiting on each other?)")
	}
}
