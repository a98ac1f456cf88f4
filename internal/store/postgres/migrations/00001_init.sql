-- Horizon store schema, PostgreSQL. Times are timestamptz (microseconds,
-- UTC); raw provider JSON is json (kept byte for byte, validated). IDs that
-- lists are ordered by are COLLATE "C": byte order, as on SQLite, and the
-- primary-key index serves that order whatever the database collation.

-- +goose Up
CREATE TABLE tickets (
    account       text        NOT NULL,
    provider      text        NOT NULL,
    external_id   text COLLATE "C" NOT NULL,
    number        text        NOT NULL,
    summary       text        NOT NULL,
    description   text        NOT NULL,
    status_id     text        NOT NULL,
    status_name   text        NOT NULL,
    closed        boolean     NOT NULL,
    priority_id   text        NOT NULL,
    priority_name text        NOT NULL,
    type_id       text        NOT NULL,
    type_name     text        NOT NULL,
    queue_id      text        NOT NULL,
    queue_name    text        NOT NULL,
    company_id    text        NOT NULL,
    contact_id    text        NOT NULL,
    assignee_id   text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deleted       boolean     NOT NULL,
    raw           json,
    PRIMARY KEY (account, provider, external_id)
);

CREATE TABLE contacts (
    account     text        NOT NULL,
    provider    text        NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    company_id  text        NOT NULL,
    first_name  text        NOT NULL,
    last_name   text        NOT NULL,
    email       text        NOT NULL,
    phone       text        NOT NULL,
    active      boolean     NOT NULL,
    updated_at  timestamptz NOT NULL,
    raw         json,
    PRIMARY KEY (account, provider, external_id)
);

CREATE TABLE companies (
    account     text        NOT NULL,
    provider    text        NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    name        text        NOT NULL,
    identifier  text        NOT NULL,
    active      boolean     NOT NULL,
    updated_at  timestamptz NOT NULL,
    raw         json,
    PRIMARY KEY (account, provider, external_id)
);

CREATE TABLE time_entries (
    account     text             NOT NULL,
    provider    text             NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    ticket_id   text             NOT NULL,
    member_id   text             NOT NULL,
    start_at    timestamptz      NOT NULL,
    hours       double precision NOT NULL,
    notes       text             NOT NULL,
    billable    boolean          NOT NULL,
    updated_at  timestamptz      NOT NULL,
    raw         json,
    PRIMARY KEY (account, provider, external_id)
);
CREATE INDEX time_entries_ticket ON time_entries (account, provider, ticket_id);

CREATE TABLE helpdesk_users (
    account     text        NOT NULL,
    provider    text        NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    identifier  text        NOT NULL,
    name        text        NOT NULL,
    email       text        NOT NULL,
    active      boolean     NOT NULL,
    updated_at  timestamptz NOT NULL,
    raw         json,
    PRIMARY KEY (account, provider, external_id)
);

CREATE TABLE watermarks (
    account         text        NOT NULL,
    provider        text        NOT NULL,
    entity          text        NOT NULL,
    updated_through timestamptz NOT NULL,
    backfilled_from timestamptz NOT NULL,
    cursor          text        NOT NULL,
    PRIMARY KEY (account, provider, entity)
);

CREATE TABLE picklists (
    account  text    NOT NULL,
    provider text    NOT NULL,
    position integer NOT NULL,
    kind     text    NOT NULL,
    scope    text    NOT NULL,
    scope_id text    NOT NULL,
    items    jsonb   NOT NULL,
    PRIMARY KEY (account, provider, position)
);

CREATE TABLE picklist_refreshes (
    account      text        NOT NULL,
    provider     text        NOT NULL,
    refreshed_at timestamptz NOT NULL,
    PRIMARY KEY (account, provider)
);

CREATE TABLE user_mappings (
    account          text        NOT NULL,
    provider         text        NOT NULL,
    helpdesk_user_id text COLLATE "C" NOT NULL,
    horizon_user     text        NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (account, provider, helpdesk_user_id)
);

CREATE TABLE sync_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account     text        NOT NULL,
    provider    text        NOT NULL,
    run_trigger text        NOT NULL,
    entity      text        NOT NULL,
    ticket_id   text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    created     integer     NOT NULL DEFAULT 0,
    updated     integer     NOT NULL DEFAULT 0,
    unchanged   integer     NOT NULL DEFAULT 0,
    failed      integer     NOT NULL DEFAULT 0,
    error       text        NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_started ON sync_runs (account, provider, started_at DESC, id DESC);

-- dedupe_key is the delivery ID of a delivery that claims it (not rejected,
-- not itself a duplicate); NULLs never conflict.
CREATE TABLE callback_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         text        NOT NULL,
    provider        text        NOT NULL,
    received_at     timestamptz NOT NULL,
    source_provider text        NOT NULL,
    event           text        NOT NULL,
    delivery_id     text        NOT NULL,
    dedupe_key      text,
    external_ids    jsonb       NOT NULL,
    verified        boolean     NOT NULL,
    result          text        NOT NULL,
    reason          text        NOT NULL,
    payload         bytea,
    processed_at    timestamptz,
    UNIQUE (account, provider, dedupe_key)
);
CREATE INDEX callback_log_received ON callback_log (account, provider, received_at DESC, id DESC);
CREATE INDEX callback_log_pending ON callback_log (account, provider, received_at, id)
    WHERE result = 'accepted';

CREATE TABLE callback_external_ids (
    account     text   NOT NULL,
    provider    text   NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    callback_id bigint NOT NULL REFERENCES callback_log (id) ON DELETE CASCADE,
    PRIMARY KEY (account, provider, external_id, callback_id)
);

-- An item's key is unique among live (pending or in-flight) items only: an
-- identical write may be queued again once the earlier one is done or dead.
CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account       text        NOT NULL,
    provider      text        NOT NULL,
    key           text        NOT NULL,
    kind          text        NOT NULL,
    payload       json,
    attempts      integer     NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL,
    state         text        NOT NULL,
    last_error    text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    claimed_until timestamptz
);
CREATE UNIQUE INDEX outbox_live_key ON outbox (account, provider, key)
    WHERE state IN ('pending', 'inflight');
CREATE INDEX outbox_due ON outbox (account, provider, next_attempt, id)
    WHERE state IN ('pending', 'inflight');

CREATE TABLE widget_checks (
    account       text        NOT NULL,
    provider      text        NOT NULL,
    name          text COLLATE "C" NOT NULL,
    url           text        NOT NULL,
    up            boolean     NOT NULL,
    checked_at    timestamptz NOT NULL,
    last_success  timestamptz,
    last_error    text        NOT NULL,
    last_error_at timestamptz,
    PRIMARY KEY (account, provider, name)
);

CREATE TABLE leases (
    name       text        PRIMARY KEY,
    holder     text        NOT NULL,
    epoch      bigint      NOT NULL,
    expires_at timestamptz NOT NULL
);

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
