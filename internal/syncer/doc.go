// Package syncer moves helpdesk data from the PSA into the store: a
// backfill of the ingest window the first time, incremental syncs from a
// per-entity watermark afterwards, a polling loop that always runs (PSA
// callbacks are lossy everywhere), one-ticket syncs triggered by callbacks,
// manual syncs, the picklist refresh, and the sync run log.
//
// # Watermarks
//
// Each entity has a store.Watermark. UpdatedThrough is the largest
// last-updated time the PSA reported in a completed run (the PSA's clock,
// never ours), capped by the PSA's time when the run started (the local
// clock where the provider cannot tell, see PSAClock): a record changed
// after its page was read carries a later time, so the next run fetches
// it however long this one took, and a record dated in the future cannot
// carry the watermark past real changes. A manual full or one-ticket sync
// writes authoritatively (store.Batch.Authoritative): the PSA's record
// replaces a stored one dated later. BackfilledFrom is how far back the ingest window has been
// backfilled. An incremental sync asks for records updated after
// UpdatedThrough minus an overlap (Options.Overlap, default 5m): records
// the PSA commits late with an earlier time, clock skew between the PSA's
// servers and equal timestamps at a page boundary are fetched again instead
// of lost (LESSONS.md §3.4, the gap hazard). The store's never-go-backwards
// upsert makes the overlap harmless: a re-fetched record is "unchanged".
//
// The ingest window (Options.IngestWindow) applies to tickets and time
// entries. Contacts, companies and members are reference data, synced in
// full the first time. Members of providers without a last-updated filter
// on users (Capabilities.IncrementalMembers false) are synced in full
// every time. Widening the window backfills only the gap, with
// Query{Since: newStart, Until: oldBackfilledFrom}; records outside the
// queried range are dropped here too, since a provider may not honour
// Until.
//
// # Crash safety
//
// A run streams pages from the provider and upserts each page in its own
// transaction. The new watermark is written with the last page of a
// completed run, in the same transaction (store.Batch.Watermark), and only
// when the provider's stream ended on its own: never when it stopped on an
// error or a cancelled context. A process killed at any point therefore
// leaves the old watermark in place, and the next run fetches again
// everything the lost run covered; upserts are idempotent, so nothing is
// lost and nothing duplicated. Each committed page also records the run's
// counts (store.UpdateSyncRun), and the next run of the entity marks a run
// its dead process left unfinished as interrupted.
//
// A backfill resumes part-way where the provider can say where: a
// Resumer lists the entity in ascending record ID and honours
// helpdesk.Query.After. Each page of such a backfill but the last commits
// Watermark.Cursor (the last record's ID, the window start, the PSA's
// time when the backfill first started and the largest last-updated time
// committed) in the page's transaction; a restarted backfill lists only
// the records after it, and stores at its end the watermark an
// uninterrupted backfill would, which does not pass the first start, so
// records of pages committed before the crash that changed since are
// fetched by the next incremental run. ConnectWise and Autotask are
// Resumers. Zoho Desk and HaloPSA stream in an order no query can resume
// (page numbers, last-updated order): their interrupted backfill starts
// again from the beginning of its window, costing the requests of the part
// already done and nothing else. A cursor a provider cannot use is
// ignored.
//
// # Streaming
//
// A run holds at most four pages, however many records it syncs: one
// goroutine reads the provider's page stream into a one-slot channel while
// the caller's goroutine writes the previous page, so fetching overlaps
// storing. The writer keeps one page back so that the last one can carry
// the watermark: it holds the page being written and the one just
// received, the channel one more, and the fetcher the page it decodes. A
// cancelled context stops the fetcher; the page in hand is still written
// (with a context that ignores the cancellation) so that shutdown finishes
// the batch in hand instead of rolling it back.
//
// # Runs, metrics and errors
//
// Every run is recorded in the sync run log (store.StartSyncRun and
// FinishSyncRun) with its trigger, counts and error, and in the
// horizon_sync_* metrics. A one-ticket run (a callback, a manual "sync
// this ticket") takes milliseconds and is recorded once it has ended,
// with one write (store.RecordSyncRun). An authentication failure ends the run with an
// *AuthError naming the credentials to check in horizon.yaml, and the
// polling cycle that hit it skips its remaining entities. Rate limits,
// 5xx answers, timeouts and truncated bodies are retried inside the
// provider clients; what is left after their bounded retries fails the run,
// and the next poll tries again.
//
// A Syncer serialises runs of one entity within the process. Across
// replicas, only the leader (the lease in package store) may run the
// poller.
package syncer
