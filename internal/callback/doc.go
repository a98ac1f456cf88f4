// Package callback receives the webhooks a PSA sends when a record changes,
// logs every delivery durably in the callback log, and turns the accepted
// ones into re-fetches of the records they name.
//
// A delivery is a hint, never data (LESSONS.md §0.1): the body only says
// which record changed; the record itself is fetched from the PSA by the
// Fetcher, and the store's newer-wins upsert settles out-of-order
// deliveries. The pieces:
//
//   - Receiver is the http.Handler mounted at /callbacks/{provider}. For
//     each POST it reads the raw body (bounded by MaxBody, 413 beyond),
//     has the provider verify it (Provider.VerifyCallback: a signature
//     for ConnectWise and Autotask, the registered secret for Zoho Desk
//     and HaloPSA; 401 when it fails), parses it (400 when malformed),
//     and logs one callback-log row per event. It answers 2xx only once
//     those rows are committed. Rejections are logged too, with their
//     reason, and never reach ticket data.
//   - Concurrent deliveries are group-committed: a committer goroutine
//     gathers the rows of every delivery waiting (up to BatchSize, for at
//     most BatchDelay) into one Store.InsertCallbackBatches transaction,
//     and each handler waits for its own batch's outcome before
//     answering. A process serving many accounts shares one Log across
//     their receivers, so that webhooks of different accounts share a
//     commit; when a shared commit fails, each account's rows are tried
//     alone, so one account's failure is only its own.
//   - Repeated deliveries are de-duplicated by the store on DeliveryID
//     (logged as duplicate, answered 200 so the PSA stops retrying).
//     Where the provider's payload carries an event time, events older
//     than ReplayTolerance are rejected as replays; no PSA signs its
//     timestamp, so de-duplication plus re-fetching is the real replay
//     protection and the time check only bounds what a replay can trigger.
//   - Dispatcher drains the accepted rows (PendingCallbacks, so nothing
//     accepted before a crash is lost), coalesces the rows naming one
//     ticket into one fetch (rows received before a fetch began are
//     settled by it, wherever they sit in the backlog), calls the Fetcher
//     and marks the rows processed or failed, retrying transient failures
//     a bounded number of times with backoff. Fetches queue behind the
//     PSA client's rate limiter for as long as it takes: a fetch the
//     limiter did not send (helpdesk.ErrNotSent) is no attempt, and its
//     rows stay accepted.
//   - Status, WriteStatus and WriteLog back the `reconciler callbacks
//     status` and `reconciler logs callbacks` commands.
//
// Metrics: horizon_callbacks_received_total{provider,event,result} counts
// every logged row at receipt (result accepted, duplicate, rejected,
// processed for echoes of Horizon's own writes, or error when the log
// could not be written), and
// horizon_callback_last_received_timestamp_seconds{provider} is set when a
// verified delivery is logged. docs/callbacks.md has the staleness alert.
package callback
