-- Sync run outcomes (ok, failed, cancelled, interrupted), skipped records,
-- and the indexes retention deletes by, across every scope.

-- +goose Up
ALTER TABLE sync_runs ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_runs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN skips TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(skips));
CREATE INDEX sync_runs_retention ON sync_runs (started_at);
-- The runs a dead process left unfinished, looked up at every run's start.
CREATE INDEX sync_runs_unfinished ON sync_runs (account, provider, entity) WHERE finished_at IS NULL;
CREATE INDEX callback_log_retention ON callback_log (received_at) WHERE result <> 'accepted';
CREATE INDEX outbox_retention ON outbox (created_at) WHERE state IN ('done', 'dead');

-- +goose Down
DROP INDEX outbox_retention;
DROP INDEX callback_log_retention;
DROP INDEX sync_runs_unfinished;
DROP INDEX sync_runs_retention;
ALTER TABLE sync_runs DROP COLUMN skips;
ALTER TABLE sync_runs DROP COLUMN skipped;
ALTER TABLE sync_runs DROP COLUMN outcome;
