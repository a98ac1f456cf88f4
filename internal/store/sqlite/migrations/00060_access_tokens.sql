-- Access tokens shared by the processes of one account, sealed by the
-- client (AES-GCM under a key derived from the credential): never in the
-- clear.

-- +goose Up
CREATE TABLE access_tokens (
    account    TEXT NOT NULL,
    provider   TEXT NOT NULL,
    key        TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (account, provider, key)
) STRICT;

-- +goose Down
DROP TABLE access_tokens;
