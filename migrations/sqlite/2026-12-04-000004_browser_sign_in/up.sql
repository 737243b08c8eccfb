-- Browser sign-in (authorization code flow with PKCE, OpenID Connect).

-- Clients marked first-party skip the consent page.
ALTER TABLE clients ADD COLUMN first_party BOOLEAN NOT NULL DEFAULT 0;

-- A signed-in browser at Tessera (cookie tessera_session): only the SHA-256 of its cookie.
CREATE TABLE browser_sessions (
    id_hash    BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL,
    auth_time  TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP
);
CREATE INDEX browser_sessions_user_id_idx ON browser_sessions (user_id);
CREATE INDEX browser_sessions_expires_at_idx ON browser_sessions (expires_at);

-- Authorization codes: single use, 60 seconds, bound to client, redirect URI and PKCE.
CREATE TABLE authorization_codes (
    code_hash      BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT,
    nonce          TEXT,
    auth_time      TIMESTAMP NOT NULL,
    browser_session BLOB,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    used_at        TIMESTAMP,
    -- The session the code was exchanged for: revoked if the code is presented again.
    sid            TEXT
);
CREATE INDEX authorization_codes_expires_at_idx ON authorization_codes (expires_at);

-- The browser session a token session was started from, so logging out ends both.
ALTER TABLE sessions ADD COLUMN browser_session BLOB;

-- What a user has allowed a client to have.
CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
