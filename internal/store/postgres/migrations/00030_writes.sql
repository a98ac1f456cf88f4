-- +goose Up
-- Write-back rides in the outbox: a row with an op is a write from
-- Horizon to the PSA; other rows (op '') are generic outbox items.
ALTER TABLE outbox ADD COLUMN op            text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN ticket_id     text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN order_key     text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN author        text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN member_id     text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN member_name   text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN idem_key      text;
ALTER TABLE outbox ADD COLUMN request_hash  text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN marker        text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN answer        text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN result_id     text    NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN uncertain     boolean NOT NULL DEFAULT false;
ALTER TABLE outbox ADD COLUMN updated_at    timestamptz;
ALTER TABLE outbox ADD COLUMN finished_at   timestamptz;
ALTER TABLE outbox ADD COLUMN duration_us   bigint  NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX outbox_idem_key ON outbox (account, provider, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX outbox_order ON outbox (account, provider, order_key, id) WHERE state IN ('pending', 'inflight');
CREATE INDEX outbox_ticket ON outbox (account, provider, ticket_id, id) WHERE op <> '';

CREATE TABLE notes (
    account     text        NOT NULL,
    provider    text        NOT NULL,
    external_id text        NOT NULL,
    ticket_id   text        NOT NULL,
    text        text        NOT NULL,
    internal    boolean     NOT NULL,
    author_id   text        NOT NULL,
    created_at  timestamptz NOT NULL,
    raw         json,
    PRIMARY KEY (account, provider, external_id)
);
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
