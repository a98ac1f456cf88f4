-- +goose Up
-- Write-back rides in the outbox: a row with an op is a write from
-- Horizon to the PSA; other rows (op '') are generic outbox items.
ALTER TABLE outbox ADD COLUMN op            TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN ticket_id     TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN order_key     TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN author        TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN member_id     TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN member_name   TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN idem_key      TEXT;
ALTER TABLE outbox ADD COLUMN request_hash  TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN marker        TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN answer        TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN result_id     TEXT    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN uncertain     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN updated_at    TEXT;
ALTER TABLE outbox ADD COLUMN finished_at   TEXT;
ALTER TABLE outbox ADD COLUMN duration_us   INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX outbox_idem_key ON outbox (account, provider, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX outbox_order ON outbox (account, provider, order_key, id) WHERE state IN ('pending', 'inflight');
CREATE INDEX outbox_ticket ON outbox (account, provider, ticket_id, id) WHERE op <> '';

CREATE TABLE notes (
    account     TEXT    NOT NULL,
    provider    TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    ticket_id   TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    internal    INTEGER NOT NULL,
    author_id   TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    raw         TEXT CHECK (json_valid(raw)),
    PRIMARY KEY (account, provider, external_id)
) STRICT;
CREATE INDEX notes_ticket ON notes (account, provider, ticket_id, created_at);

-- +goose Down
DROP TABLE notes;
DROP INDEX outbox_ticket;
DROP INDEX outbox_order;
DROP INDEX outbox_idem_key;
ALTER TABLE outbox DROP COLUMN duration_us;
ALTER TABLE outbox DROP COLUMN finished_at;
ALTER TABLE outbox DROP COLUMN updated_at;
ALTER TABLE outbox DROP COLUMN uncertain;
ALTER TABLE outbox DROP COLUMN result_id;
ALTER TABLE outbox DROP COLUMN answer;
ALTER TABLE outbox DROP COLUMN marker;
ALTER TABLE outbox DROP COLUMN request_hash;
ALTER TABLE outbox DROP COLUMN idem_key;
ALTER TABLE outbox DROP COLUMN member_name;
ALTER TABLE outbox DROP COLUMN member_id;
ALTER TABLE outbox DROP COLUMN author;
ALTER TABLE outbox DROP COLUMN order_key;
ALTER TABLE outbox DROP COLUMN ticket_id;
ALTER TABLE outbox DROP COLUMN op;
