-- The status pages and `reconciler trace ticket` find a ticket by the
-- number agents see, and list the one-ticket sync runs of a ticket.

-- +goose Up
CREATE INDEX tickets_number ON tickets (account, provider, number) WHERE number <> '';
CREATE INDEX sync_runs_ticket ON sync_runs (account, provider, ticket_id, started_at DESC, id DESC)
    WHERE ticket_id <> '';
CREATE INDEX outbox_created ON outbox (account, provider, created_at DESC, id DESC);

-- +goose Down
DROP INDEX outbox_created;
DROP INDEX sync_runs_ticket;
DROP INDEX tickets_number;
