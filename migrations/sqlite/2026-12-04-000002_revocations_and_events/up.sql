-- The revocation feed: one row per revoked session, in commit order (inserts are serialised by
-- an advisory lock), kept until the session's last access token has expired.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    sid        TEXT NOT NULL,
    revoked_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX revocations_expires_at_idx ON revocations (expires_at);

-- Security events: reuse detected, sessions revoked, failed logins, admin changes.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TIMESTAMP NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT,
    subject    TEXT,
    detail     TEXT NOT NULL
);
CREATE INDEX events_at_idx ON events (at);
