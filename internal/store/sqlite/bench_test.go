package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
	"github.com/horizon/reconciler/internal/store/storetest"
)

// rowsPerOp is how many tickets one benchmark operation writes.
const rowsPerOp = 10_000

var batchSizes = []int{1000, 5000}

func benchStore(b testing.TB) *Store {
	b.Helper()
	s, err := Open(context.Background(), tempURL(b))
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
// stored ones. Compare with BenchmarkRawInsert.
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

// rawChunk is how many rows one multi-row INSERT carries (22 columns,
// within SQLite's 32766 bound variables).
const rawChunk = 1000

// BenchmarkRawInsert is the ingest limit of this file: the same rows
// (already converted, outside the timer) written with a bare multi-row
// INSERT into an unindexed table, one transaction per batch, on the same
// writer connection and settings.
func BenchmarkRawInsert(b *testing.B) {
	for _, size := range batchSizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := rawStore(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				rows := rawArgs(b, storetest.Tickets(fmt.Sprintf("op%d-", i), rowsPerOp, storetest.T0))
				b.StartTimer()
				rawInsertAll(b, s, rows, size)
			}
			reportRows(b)
		})
	}
}

// BenchmarkIngestRatio alternates WriteBatch and the raw INSERT of the
// same number of new rows within each operation, so that both see the
// same machine load, and reports both rates and their ratio.
func BenchmarkIngestRatio(b *testing.B) {
	for _, size := range batchSizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := rawStore(b)
			var up, raw time.Duration
			for i := 0; i < b.N; i++ {
				all := storetest.Tickets(fmt.Sprintf("up%d-", i), rowsPerOp, storetest.T0)
				rows := rawArgs(b, storetest.Tickets(fmt.Sprintf("raw%d-", i), rowsPerOp, storetest.T0))
				steps := []func(){
					func() { t := time.Now(); writeAll(b, s, all, size); up += time.Since(t) },
					func() { t := time.Now(); rawInsertAll(b, s, rows, size); raw += time.Since(t) },
				}
				steps[i%2]()
				steps[1-i%2]()
			}
			n := float64(b.N * rowsPerOp)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(n/up.Seconds(), "upsert-rows/s")
			b.ReportMetric(n/raw.Seconds(), "raw-rows/s")
			b.ReportMetric(raw.Seconds()/up.Seconds(), "ratio")
		})
	}
}

func rawStore(b *testing.B) *Store {
	s := benchStore(b)
	if _, err := s.w.ExecContext(context.Background(), `CREATE TABLE raw_tickets AS SELECT * FROM tickets WHERE 0`); err != nil {
		b.Fatal(err)
	}
	return s
}

func rawInsertAll(b *testing.B, s *Store, rows [][]any, size int) {
	for j := 0; j < len(rows); j += size {
		rawInsert(b, s, rows[j:min(j+size, len(rows))])
	}
}

func rawInsert(b *testing.B, s *Store, rows [][]any) {
	ctx := context.Background()
	ncol := len(rows[0])
	one := "(" + placeholders(ncol) + ")"
	stmt := "INSERT INTO raw_tickets (account, provider, " + strings.Join(entity.Tickets.Names(), ", ") +
		") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", rawChunk), ", ")
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	prep, err := tx.PrepareContext(ctx, stmt)
	if err != nil {
		b.Fatal(err)
	}
	args := make([]any, 0, rawChunk*ncol)
	for k := 0; k < len(rows); k += rawChunk {
		args = args[:0]
		for _, r := range rows[k:min(k+rawChunk, len(rows))] {
			args = append(args, r...)
		}
		if _, err := prep.ExecContext(ctx, args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func rawArgs(b *testing.B, ts []helpdesk.Ticket) [][]any {
	_, rows, err := entity.Rows(&store.Batch{Entity: helpdesk.EntityTickets, Tickets: ts})
	if err != nil {
		b.Fatal(err)
	}
	for i, r := range rows {
		args := []any{storetest.Scope.Account, storetest.Scope.Provider}
		for _, v := range r {
			args = append(args, bindValue(v))
		}
		rows[i] = args
	}
	return rows
}

// BenchmarkCallbackWrites measures a callback's writes of one ticket and
// of its mark in the callback log: WriteBatch of one ticket and
// MarkCallbacks of one ID, each as one autocommit statement ("one") and
// as the transaction they used to be ("tx"), alternated within each
// operation so that both see the same load; the ratio is tx / one.
func BenchmarkCallbackWrites(b *testing.B) {
	ctx := context.Background()
	b.Run("write", func(b *testing.B) {
		s := benchStore(b)
		stored := storetest.Tickets("t", 1024, storetest.T0)
		writeAll(b, s, stored, 1024)
		q := upsertSQL[entity.Tickets]
		alternate(b, func(i int, one bool) {
			// Each way updates tickets of its own, newer each time.
			ts := []helpdesk.Ticket{stored[(2*i+map[bool]int{true: 1}[one])%len(stored)]}
			ts[0].UpdatedAt = ts[0].UpdatedAt.Add(time.Duration(i+1) * time.Second)
			batch := store.Batch{Entity: helpdesk.EntityTickets, Tickets: ts}
			var err error
			if one {
				_, err = s.WriteBatch(ctx, storetest.Scope, batch)
			} else {
				_, rows, _ := entity.Rows(&batch)
				err = s.inTx(ctx, func(tx *sql.Tx) error {
					_, err := upsertRows(ctx, s.wst.in(tx), q, entity.Tickets, storetest.Scope, rows)
					return err
				})
			}
			if err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("mark", func(b *testing.B) {
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
		alternate(b, func(i int, one bool) {
			id := ids[2*i+map[bool]int{true: 1}[one]]
			if one {
				err = s.MarkCallbacks(ctx, storetest.Scope, []int64{id}, store.CallbackProcessed, "", storetest.T0)
			} else {
				err = s.inTx(ctx, func(tx *sql.Tx) error {
					res, err := tx.ExecContext(ctx, `UPDATE callback_log SET result = ?, reason = ?, processed_at = ?
WHERE account = ? AND provider = ? AND id = ?`, store.CallbackProcessed, "", ts(storetest.T0), storetest.Scope.Account, storetest.Scope.Provider, id)
					if err == nil {
						err = oneRow(res, "callback")
					}
					return err
				})
			}
			if err != nil {
				b.Fatal(err)
			}
		})
	})
}

// alternate runs op b.N times each way, one (true) and tx (false), in
// alternating order, and reports both times and their ratio.
func alternate(b *testing.B, op func(i int, one bool)) {
	var took [2]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range 2 {
			k = (k + i) % 2
			t := time.Now()
			op(i, k == 0)
			took[k] += time.Since(t)
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(took[0].Microseconds())/float64(b.N), "one-µs/op")
	b.ReportMetric(float64(took[1].Microseconds())/float64(b.N), "tx-µs/op")
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "ratio")
}

// BenchmarkHotPaths runs each hot path (see hotPaths) on a store running
// prepared statements and on one running every statement unprepared, in
// alternate blocks of calls, and reports per call the process's CPU time
// and allocations of each and their CPU ratio (unprepared/prepared). CPU
// time, not elapsed time: a commit waits for fsync, which costs no CPU.
func BenchmarkHotPaths(b *testing.B) {
	const block = 20 // calls between two readings of the CPU time
	for _, p := range hotPaths {
		b.Run(p.name, func(b *testing.B) {
			var run [2]func(int) error // prepared, unprepared
			for v := range run {
				s := benchStore(b)
				s.wst.off, s.rst.off = v == 1, v == 1
				run[v] = p.prepare(b, s, b.N+1)
				if err := run[v](0); err != nil { // prepares the statements
					b.Fatal(err)
				}
			}
			var cpu [2]time.Duration
			var allocs [2]uint64
			var ms runtime.MemStats
			b.ResetTimer()
			for i := 1; i <= b.N; i += block {
				for k := range 2 {
					v := (i/block + k) % 2 // which goes first alternates
					runtime.ReadMemStats(&ms)
					m0, c0 := ms.Mallocs, cpuTime(b)
					for j := i; j < min(i+block, b.N+1); j++ {
						if err := run[v](j); err != nil {
							b.Fatal(err)
						}
					}
					cpu[v] += cpuTime(b) - c0
					runtime.ReadMemStats(&ms)
					allocs[v] += ms.Mallocs - m0
				}
			}
			n := float64(b.N)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(cpu[0])/n, "cpu-ns/call")
			b.ReportMetric(float64(cpu[1])/n, "unprepared-cpu-ns/call")
			b.ReportMetric(cpu[1].Seconds()/cpu[0].Seconds(), "cpu-ratio")
			b.ReportMetric(float64(allocs[0])/n, "allocs/call")
			b.ReportMetric(float64(allocs[1])/n, "unprepared-allocs/call")
		})
	}
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
