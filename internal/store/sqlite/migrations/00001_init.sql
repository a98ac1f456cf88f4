-- Horizon store schema, SQLite. Tables are STRICT. Times are TEXT in one
-- fixed-width UTC form, 2006-01-02T15:04:05.000000Z, so that text order is
-- time order; booleans are 0/1; JSON is TEXT (kept byte for byte) checked
-- with json_valid, as PostgreSQL's json type checks it. Synced-record
-- tables carry rev, incremented by every update, so that an upsert's
-- RETURNING tells an insert (rev = 1) from an update.

-- +goose Up
CREATE TABLE tickets (
    account       TEXT        NOT NULL,
    provider      TEXT        NOT NULL,
    external_id   TEXT        NOT NULL,
    number        TEXT        NOT NULL,
    summary       TEXT        NOT NULL,
    description   TEXT        NOT NULL,
    status_id     TEXT        NOT NULL,
    status_name   TEXT        NOT NULL,
    closed        INTEGER     NOT NULL,
    priority_id   TEXT        NOT NULL,
    priority_name TEXT        NOT NULL,
    type_id       TEXT        NOT NULL,
    type_name     TEXT        NOT NULL,
    queue_id      TEXT        NOT NULL,
    queue_name    TEXT        NOT NULL,
    company_id    TEXT        NOT NULL,
    contact_id    TEXT        NOT NULL,
    assignee_id   TEXT        NOT NULL,
    created_at    TEXT        NOT NULL,
    updated_at    TEXT        NOT NULL,
    deleted       INTEGER     NOT NULL,
    raw           TEXT CHECK (json_valid(raw)),
    rev           INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account, provider, external_id)
) STRICT;

CREATE TABLE contacts (
    account     TEXT        NOT NULL,
    provider    TEXT        NOT NULL,
    external_id TEXT        NOT NULL,
    company_id  TEXT        NOT NULL,
    first_name  TEXT        NOT NULL,
    last_name   TEXT        NOT NULL,
    email       TEXT        NOT NULL,
    phone       TEXT        NOT NULL,
    active      INTEGER     NOT NULL,
    updated_at  TEXT        NOT NULL,
    raw         TEXT CHECK (json_valid(raw)),
    rev         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account, provider, external_id)
) STRICT;

CREATE TABLE companies (
    account     TEXT        NOT NULL,
    provider    TEXT        NOT NULL,
    external_id TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    identifier  TEXT        NOT NULL,
    active      INTEGER     NOT NULL,
    updated_at  TEXT        NOT NULL,
    raw         TEXT CHECK (json_valid(raw)),
    rev         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account, provider, external_id)
) STRICT;

CREATE TABLE time_entries (
    account     TEXT             NOT NULL,
    provider    TEXT             NOT NULL,
    external_id TEXT             NOT NULL,
    ticket_id   TEXT             NOT NULL,
    member_id   TEXT             NOT NULL,
    start_at    TEXT      NOT NULL,
    hours       REAL NOT NULL,
    notes       TEXT             NOT NULL,
    billable    INTEGER          NOT NULL,
    updated_at  TEXT      NOT NULL,
    raw         TEXT CHECK (json_valid(raw)),
    rev         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account, provider, external_id)
) STRICT;
CREATE INDEX time_entries_ticket ON time_entries (account, provider, ticket_id);

CREATE TABLE helpdesk_users (
    account     TEXT        NOT NULL,
    provider    TEXT        NOT NULL,
    external_id TEXT        NOT NULL,
    identifier  TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    email       TEXT        NOT NULL,
    active      INTEGER     NOT NULL,
    updated_at  TEXT        NOT NULL,
    raw         TEXT CHECK (json_valid(raw)),
    rev         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account, provider, external_id)
) STRICT;

CREATE TABLE watermarks (
    account         TEXT        NOT NULL,
    provider        TEXT        NOT NULL,
    entity          TEXT        NOT NULL,
    updated_through TEXT        NOT NULL,
    backfilled_from TEXT        NOT NULL,
    cursor          TEXT        NOT NULL,
    PRIMARY KEY (account, provider, entity)
) STRICT;

CREATE TABLE picklists (
    account  TEXT    NOT NULL,
    provider TEXT    NOT NULL,
    position INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    scope    TEXT    NOT NULL,
    scope_id TEXT    NOT NULL,
    items    TEXT   NOT NULL,
    PRIMARY KEY (account, provider, position)
) STRICT;

CREATE TABLE picklist_refreshes (
    account      TEXT        NOT NULL,
    provider     TEXT        NOT NULL,
    refreshed_at TEXT        NOT NULL,
    PRIMARY KEY (account, provider)
) STRICT;

CREATE TABLE user_mappings (
    account          TEXT        NOT NULL,
    provider         TEXT        NOT NULL,
    helpdesk_user_id TEXT        NOT NULL,
    horizon_user     TEXT        NOT NULL,
    updated_at       TEXT        NOT NULL,
    PRIMARY KEY (account, provider, helpdesk_user_id)
) STRICT;

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT        NOT NULL,
    provider    TEXT        NOT NULL,
    run_trigger TEXT        NOT NULL,
    entity      TEXT        NOT NULL,
    ticket_id   TEXT        NOT NULL,
    started_at  TEXT        NOT NULL,
    finished_at TEXT,
    created     INTEGER     NOT NULL DEFAULT 0,
    updated     INTEGER     NOT NULL DEFAULT 0,
    unchanged   INTEGER     NOT NULL DEFAULT 0,
    failed      INTEGER     NOT NULL DEFAULT 0,
    error       TEXT        NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sync_runs_started ON sync_runs (account, provider, started_at DESC, id DESC);

-- dedupe_key is the delivery ID of a delivery that claims it (not rejected,
-- not itself a duplicate); NULLs never conflict.
CREATE TABLE callback_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account         TEXT        NOT NULL,
    provider        TEXT        NOT NULL,
    received_at     TEXT        NOT NULL,
    source_provider TEXT        NOT NULL,
    event           TEXT        NOT NULL,
    delivery_id     TEXT        NOT NULL,
    dedupe_key      TEXT,
    external_ids    TEXT       NOT NULL,
    verified        INTEGER     NOT NULL,
    result          TEXT        NOT NULL,
    reason          TEXT        NOT NULL,
    payload         BLOB,
    processed_at    TEXT,
    UNIQUE (account, provider, dedupe_key)
) STRICT;
CREATE INDEX callback_log_received ON callback_log (account, provider, received_at DESC, id DESC);
CREATE INDEX callback_log_pending ON callback_log (account, provider, received_at, id)
    WHERE result = 'accepted';

CREATE TABLE callback_external_ids (
    account     TEXT   NOT NULL,
    provider    TEXT   NOT NULL,
    external_id TEXT   NOT NULL,
    callback_id INTEGER NOT NULL REFERENCES callback_log (id) ON DELETE CASCADE,
    PRIMARY KEY (account, provider, external_id, callback_id)
) STRICT;

-- An item's key is unique among live (pending or in-flight) items only: an
-- identical write may be queued again once the earlier one is done or dead.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account       TEXT        NOT NULL,
    provider      TEXT        NOT NULL,
    key           TEXT        NOT NULL,
    kind          TEXT        NOT NULL,
    payload       TEXT CHECK (json_valid(payload)),
    attempts      INTEGER     NOT NULL DEFAULT 0,
    next_attempt  TEXT        NOT NULL,
    state         TEXT        NOT NULL,
    last_error    TEXT        NOT NULL DEFAULT '',
    created_at    TEXT        NOT NULL,
    claimed_until TEXT
) STRICT;
CREATE UNIQUE INDEX outbox_live_key ON outbox (account, provider, key)
    WHERE state IN ('pending', 'inflight');
CREATE INDEX outbox_due ON outbox (account, provider, next_attempt, id)
    WHERE state IN ('pending', 'inflight');

CREATE TABLE widget_checks (
    account       TEXT        NOT NULL,
    provider      TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    url           TEXT        NOT NULL,
    up            INTEGER     NOT NULL,
    checked_at    TEXT        NOT NULL,
    last_success  TEXT,
    last_error    TEXT        NOT NULL,
    last_error_at TEXT,
    PRIMARY KEY (account, provider, name)
) STRICT;

CREATE TABLE leases (
    name       TEXT        PRIMARY KEY,
    holder     TEXT        NOT NULL,
    epoch      INTEGER      NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE leases;
DROP TABLE widget_checks;
DROP TABLE outbox;
DROP TABLE callback_external_ids;
DROP TABLE callback_log;
DROP TABLE sync_runs;
DROP TABLE user_mappings;
DROP TABLE picklist_refreshes;
DROP TABLE picklists;
DROP TABLE watermarks;
DROP TABLE helpdesk_users;
DROP TABLE time_entries;
DROP TABLE companies;
DROP TABLE contacts;
DROP TABLE tickets;
