-- Timestamps are UTC, stored without a zone so the same diesel schema serves SQLite too.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT,
    password_hash TEXT NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE clients (
    client_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    client_type   TEXT NOT NULL CHECK (client_type IN ('confidential', 'public')),
    secret_hash   BLOB,
    grant_types   TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    audience      TEXT,
    created_at    TIMESTAMP NOT NULL
);

-- A session starts at a login and lives through its refresh-token rotations.
-- user_id carries no foreign key: a deleted user's revoked sessions stay for the revocation feed.
CREATE TABLE sessions (
    sid               TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL,
    client_id         TEXT,
    kind              TEXT NOT NULL,
    scope             TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    last_used_at      TIMESTAMP NOT NULL,
    expires_at        TIMESTAMP NOT NULL,
    access_expires_at TIMESTAMP NOT NULL,
    revoked_at        TIMESTAMP,
    revoked_reason    TEXT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Only the SHA-256 of each refresh token is stored, never the token.
CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    jti        TEXT NOT NULL,
    sid        TEXT NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
    issued_at  TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
CREATE INDEX refresh_tokens_sid_idx ON refresh_tokens (sid);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- Metadata of the signing keys; the private keys themselves live in the keys directory.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    signs_from TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
