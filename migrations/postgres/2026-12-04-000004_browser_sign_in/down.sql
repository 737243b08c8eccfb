DROP TABLE consents;
ALTER TABLE sessions DROP COLUMN browser_session;
DROP TABLE authorization_codes;
DROP TABLE browser_sessions;
ALTER TABLE clients DROP COLUMN first_party;
