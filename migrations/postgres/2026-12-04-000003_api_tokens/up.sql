-- DRF-style opaque tokens (POST /api-token-auth/): only the SHA-256 of each key is stored.
-- Each token is its own session.
CREATE TABLE api_tokens (
    token_hash BYTEA PRIMARY KEY,
    sid        TEXT NOT NULL UNIQUE REFERENCES sessions (sid) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
