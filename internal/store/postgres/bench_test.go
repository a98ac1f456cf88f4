package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
	"github.com/horizon/reconciler/internal/store/storetest"
)

// rowsPerOp is how many tickets one benchmark operation writes.
const rowsPerOp = 10_000

var batchSizes = []int{1000, 5000}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), freshDB(b))
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func writeAll(b *testing.B, s store.Store, all []helpdesk.Ticket, size int) {
	b.Helper()
	for j := 0; j < len(all); j += size {
		batch := store.Batch{Entity: helpdesk.EntityTickets, Tickets: all[j:min(j+size, len(all))]}
		if _, err := s.WriteBatch(context.Background(), storetest.Scope, batch); err != nil {
			b.Fatalf("WriteBatch: %v", err)
		}
	}
}

func reportRows(b *testing.B) {
	b.ReportMetric(float64(b.N*rowsPerOp)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWriteBatchTickets measures WriteBatch of rowsPerOp tickets per
// operation: "insert" writes new tickets, "update" newer versions of
// stored ones. Compare with BenchmarkRawCopy.
func BenchmarkWriteBatchTickets(b *testing.B) {
	for _, size := range batchSizes {
		b.Run(fmt.Sprintf("insert/batch=%d", size), func(b *testing.B) {
			s := benchStore(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				all := storetest.Tickets(fmt.Sprintf("op%d-", i), rowsPerOp, storetest.T0)
				b.StartTimer()
				writeAll(b, s, all, size)
			}
			reportRows(b)
		})
		b.Run(fmt.Sprintf("update/batch=%d", size), func(b *testing.B) {
			s := benchStore(b)
			all := storetest.Tickets("t", rowsPerOp, storetest.T0)
			writeAll(b, s, all, size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for j := range all {
					all[j].UpdatedAt = all[j].UpdatedAt.Add(1e9)
				}
				b.StartTimer()
				writeAll(b, s, all, size)
			}
			reportRows(b)
		})
	}
}

// BenchmarkRawCopy is the ingest limit on this server: a plain COPY of the
// same rows (already converted, outside the timer) into an unindexed
// table with no constraints, one autocommit COPY per batch.
func BenchmarkRawCopy(b *testing.B) {
	for _, size := range batchSizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := rawStore(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				rows := rawRows(b, storetest.Tickets(fmt.Sprintf("op%d-", i), rowsPerOp, storetest.T0))
				b.StartTimer()
				rawCopy(b, s, rows, size)
			}
			reportRows(b)
		})
	}
}

// BenchmarkIngestRatio alternates WriteBatch and the raw COPY of the same
// number of new rows within each operation, so that both see the same
// machine load, and reports both rates and their ratio (WriteBatch / raw).
// The raw side always COPYs new rows (the ingest limit); the WriteBatch
// side writes, per workload:
//
//   - new: tickets not yet stored (a backfill);
//   - update: newer versions of every stored ticket (a busy poll);
//   - unchanged: the stored tickets again, identical (overlapping poll
//     windows).
func BenchmarkIngestRatio(b *testing.B) {
	for _, w := range []string{"new", "update", "unchanged"} {
		for _, size := range batchSizes {
			b.Run(fmt.Sprintf("%s/batch=%d", w, size), func(b *testing.B) {
				benchRatio(b, w, size)
			})
		}
	}
}

func benchRatio(b *testing.B, workload string, size int) {
	s := rawStore(b)
	var stored []helpdesk.Ticket
	if workload != "new" {
		stored = storetest.Tickets("t", rowsPerOp, storetest.T0)
		writeAll(b, s, stored, size)
	}
	var up, raw time.Duration
	for i := 0; i < b.N; i++ {
		all := stored
		switch workload {
		case "new":
			all = storetest.Tickets(fmt.Sprintf("up%d-", i), rowsPerOp, storetest.T0)
		case "update":
			for j := range stored {
				stored[j].UpdatedAt = stored[j].UpdatedAt.Add(time.Second)
			}
		}
		rows := rawRows(b, storetest.Tickets(fmt.Sprintf("raw%d-", i), rowsPerOp, storetest.T0))
		steps := []func(){
			func() { t := time.Now(); writeAll(b, s, all, size); up += time.Since(t) },
			func() { t := time.Now(); rawCopy(b, s, rows, size); raw += time.Since(t) },
		}
		steps[i%2]()
		steps[1-i%2]()
	}
	reportRatio(b, up, raw)
}

func reportRatio(b *testing.B, up, raw time.Duration) {
	n := float64(b.N * rowsPerOp)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(n/up.Seconds(), "upsert-rows/s")
	b.ReportMetric(n/raw.Seconds(), "raw-rows/s")
	b.ReportMetric(raw.Seconds()/up.Seconds(), "ratio")
}

func rawStore(b *testing.B) *Store {
	s := benchStore(b)
	if _, err := s.pool.Exec(context.Background(), `CREATE TABLE raw_tickets AS SELECT * FROM tickets WITH NO DATA`); err != nil {
		b.Fatal(err)
	}
	return s
}

func rawCopy(b *testing.B, s *Store, rows [][]any, size int) {
	cols := append([]string{"account", "provider"}, entity.Tickets.Names()...)
	for j := 0; j < len(rows); j += size {
		_, err := s.pool.CopyFrom(context.Background(), pgx.Identifier{"raw_tickets"}, cols,
			pgx.CopyFromRows(rows[j:min(j+size, len(rows))]))
		if err != nil {
			b.Fatalf("CopyFrom: %v", err)
		}
	}
}

func rawRows(b *testing.B, ts []helpdesk.Ticket) [][]any {
	_, rows, err := entity.Rows(&store.Batch{Entity: helpdesk.EntityTickets, Tickets: ts})
	if err != nil {
		b.Fatal(err)
	}
	for i, r := range rows {
		rows[i] = append([]any{storetest.Scope.Account, storetest.Scope.Provider}, r...)
	}
	return rows
}

// BenchmarkWriteBatchSmall measures a callback's write, a WriteBatch of
// one ticket (and of a few), by writeSmall and by the bulk path,
// alternated within each operation so that both see the same load, and
// reports both times and their ratio (bulk / small): "update" writes a
// newer version of a stored ticket, "new" a ticket not yet stored. The
// bulk path is in the mode a stream of one-ticket batches leaves it in.
func BenchmarkWriteBatchSmall(b *testing.B) {
	for _, w := range []string{"update", "new"} {
		for _, n := range []int{1, 4, DefaultSmallBatch, 32} {
			b.Run(fmt.Sprintf("%s/rows=%d", w, n), func(b *testing.B) {
				small, bulk := benchStore(b), benchStore(b)
				small.smallBatch, bulk.smallBatch = n, 0
				stored := storetest.Tickets("t", 1024, storetest.T0) // a multiple of n
				for _, s := range []*Store{small, bulk} {
					writeAll(b, s, stored, 1024)
				}
				var took [2]time.Duration
				for i := 0; i < b.N; i++ {
					ts := storetest.Tickets(fmt.Sprintf("n%d-", i), n, storetest.T0)
					if w == "update" {
						ts = slices.Clone(stored[(i*n)%len(stored):][:n])
						for j := range ts {
							ts[j].UpdatedAt = ts[j].UpdatedAt.Add(time.Duration(i+1) * time.Second)
						}
					}
					for k := range 2 {
						k = (k + i) % 2
						s := []*Store{small, bulk}[k]
						t := time.Now()
						if _, err := s.WriteBatch(context.Background(), storetest.Scope, store.Batch{Entity: helpdesk.EntityTickets, Tickets: ts}); err != nil {
							b.Fatal(err)
						}
						took[k] += time.Since(t)
					}
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(float64(took[0].Microseconds())/float64(b.N), "small-µs/batch")
				b.ReportMetric(float64(took[1].Microseconds())/float64(b.N), "bulk-µs/batch")
				b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "ratio")
			})
		}
	}
}

// BenchmarkMarkCallback measures marking a callback processed: one
// MarkCallbacks of one ID ("one": one autocommit statement) against the
// transaction it used to be ("tx": BEGIN, UPDATE, COMMIT), alternated
// within each operation; the ratio is tx / one.
func BenchmarkMarkCallback(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	var recs []store.CallbackRecord
	for i := range 2 * b.N {
		recs = append(recs, store.CallbackRecord{ReceivedAt: storetest.T0, Provider: storetest.Scope.Provider,
			Event: "ticket.updated", DeliveryID: fmt.Sprint(i), Verified: true, Result: store.CallbackAccepted})
	}
	ids, _, err := s.InsertCallbacks(ctx, storetest.Scope, recs)
	if err != nil {
		b.Fatal(err)
	}
	sc := storetest.Scope
	var took [2]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range 2 {
			k = (k + i) % 2
			id, t := ids[2*i+k], time.Now()
			if k == 0 {
				err = s.MarkCallbacks(ctx, sc, []int64{id}, store.CallbackProcessed, "", storetest.T0)
			} else {
				err = s.inTx(ctx, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `UPDATE callback_log SET result = $1, reason = $2, processed_at = $3
WHERE account = $4 AND provider = $5 AND id = ANY($6)`, store.CallbackProcessed, "", storetest.T0, sc.Account, sc.Provider, []int64{id})
					return err
				})
			}
			if err != nil {
				b.Fatal(err)
			}
			took[k] += time.Since(t)
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(took[0].Microseconds())/float64(b.N), "one-µs/op")
	b.ReportMetric(float64(took[1].Microseconds())/float64(b.N), "tx-µs/op")
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "ratio")
}
