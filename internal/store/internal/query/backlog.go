package query

// OutboxBacklogs selects, per scope with live outbox items, their count,
// the oldest creation and the earliest time a write may be claimed (see
// store.OutboxBacklog.Due, and ClaimableWrites: a write with an earlier
// live write of its order key waits for that one). Its WHERE is the
// predicate of the partial indexes of live rows (outbox_due,
// outbox_order): the done and dead rows kept for retention are never read.
const OutboxBacklogs = `SELECT o.account, o.provider, count(*), min(o.created_at),
  min(CASE
    WHEN o.op = '' THEN NULL
    WHEN o.order_key <> '' AND EXISTS (SELECT 1 FROM outbox p
      WHERE p.account = o.account AND p.provider = o.provider AND p.order_key = o.order_key AND p.id < o.id
        AND p.state IN ('pending', 'inflight')) THEN NULL
    WHEN o.state = 'pending' THEN o.next_attempt
    ELSE o.claimed_until END)
FROM outbox o
WHERE o.state IN ('pending', 'inflight')
GROUP BY o.account, o.provider`
