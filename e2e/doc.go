// Package e2e holds end-to-end tests of the reconciler binary: the real
// `reconciler` built once by TestMain, run as separate processes against a
// sandbox PSA that is itself a separate `reconciler sandbox` process, each
// with its own environment, on loopback addresses only.
//
//   - TestSyncCrashResume kills `reconciler sync` with SIGKILL mid-backfill
//     on every provider, restarts it, and checks that the store ends equal
//     to an uninterrupted run and to the sandbox's data.
//   - TestCallbackCrash kills `reconciler run` after a webhook was answered
//     2xx and before (or while) the ticket it names is fetched, restarts
//     it, and checks that the callback ends processed with the edit stored.
//   - TestSmoke runs `reconciler smoke` while `reconciler run` serves the
//     account, and checks that every write step passes, and that the
//     callback step passes or says plainly that callbacks did not arrive,
//     with the exit status to match.
//   - BenchmarkBackfillRSS reports the peak RSS and wall time of a full
//     backfill of 50,000 and of 200,000 tickets (HORIZON_BENCH_RSS_TICKETS
//     changes the sizes).
//
// The package has no code outside its tests.
package e2e
