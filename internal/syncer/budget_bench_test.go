package syncer

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// BenchmarkRequestsPerEntity backfills every entity of each PSA's sandbox
// (HORIZON_BENCH_TICKETS tickets, default 1,003) and reports, per entity,
// the requests per 1,000 objects the run recorded against the floor: one
// request per page of the largest page size, at least one for a small
// list, plus one per ticket where the PSA only lists time entries ticket
// by ticket (Zoho Desk, Halo). x-floor is 1 when no request is wasted;
// x-estimate compares the run with what the plan's cost model announced.
func BenchmarkRequestsPerEntity(b *testing.B) {
	n := benchTickets(1003)
	entities := []helpdesk.Entity{helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
		helpdesk.EntityTimeEntries, helpdesk.EntityMembers}
	for _, spec := range psaSpecs {
		e := newSandboxEnv(b, spec, sandboxOpts{tickets: n})
		model, _ := e.psa.(helpdesk.CostModel)
		size := e.psa.Capabilities().MaxPageSize
		for _, ent := range entities {
			b.Run(spec.name+"/"+string(ent), func(b *testing.B) {
				var reqs, objects, estimate int
				for i := 0; b.Loop(); i++ {
					st := openSQLite(b, filepath.Join(b.TempDir(), fmt.Sprintf("ent%d.db", i)))
					s, err := New(e.psa, st, Options{Scope: e.scope, Entities: entities[:4], Logger: quietLogger(), Now: e.clock.Now})
					if err != nil {
						b.Fatal(err)
					}
					runs, err := s.SyncEntity(context.Background(), ent, store.TriggerBackfill, false)
					if err != nil {
						b.Fatal(err)
					}
					got := runs[0].Created + runs[0].Updated + runs[0].Unchanged
					reqs += runs[0].Requests
					objects += got
					if model != nil {
						if c, ok := model.SyncCost(ent, got, n); ok {
							estimate += c.Requests
						}
					}
				}
				loops := b.N
				floor := max(1, (objects/loops+size-1)/size)
				if model != nil {
					if _, fanOut := model.SyncCost(ent, -1, n); fanOut && ent == helpdesk.EntityTimeEntries {
						floor = (n+size-1)/size + n // ticket pages, then one list per ticket
					}
				}
				per := float64(objects) / float64(loops)
				b.ReportMetric(float64(reqs)*1000/float64(objects), "req/1000objects")
				b.ReportMetric(float64(floor)*1000/per, "floor-req/1000objects")
				b.ReportMetric(float64(reqs)/float64(loops)/float64(floor), "x-floor")
				if estimate > 0 {
					b.ReportMetric(float64(reqs)/float64(estimate), "x-estimate")
				}
			})
		}
	}
}
