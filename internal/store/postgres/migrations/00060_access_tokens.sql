-- Access tokens shared by the processes of one account, sealed by the
-- client (AES-GCM under a key derived from the credential): never in the
-- clear.

-- +goose Up
CREATE TABLE access_tokens (
    account    text        NOT NULL,
    provider   text        NOT NULL,
    key        text        NOT NULL,
    sealed     text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (account, provider, key)
);

-- +goose Down
DROP TABLE access_tokens;
