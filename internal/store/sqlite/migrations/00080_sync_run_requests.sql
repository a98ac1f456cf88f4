-- What each sync run spent of the PSA's API budget: the requests it made
-- and the time it was held back at the budget reserve.

-- +goose Up
ALTER TABLE sync_runs ADD COLUMN requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN paused_ms INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN paused_ms;
ALTER TABLE sync_runs DROP COLUMN requests;
