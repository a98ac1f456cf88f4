package record

import "github.com/horizon/reconciler/internal/store"

// RecordSyncRunArgs returns the arguments of a finished run's insert:
// those of StartSyncRunArgs, then finished_at, created, updated,
// unchanged, failed, error, outcome, skipped, skips (JSON text), requests
// and paused_ms.
func (t Times) RecordSyncRunArgs(sc store.Scope, r store.SyncRun) []any {
	end := t.FinishSyncRunArgs(sc, r)
	return append(t.StartSyncRunArgs(sc, r), end[:len(end)-3]...) // less account, provider, id
}

// RecordSyncRunColumns are the columns RecordSyncRunArgs gives values of.
const RecordSyncRunColumns = `account, provider, run_trigger, entity, ticket_id, started_at, finished_at,
  created, updated, unchanged, failed, error, outcome, skipped, skips, requests, paused_ms`
