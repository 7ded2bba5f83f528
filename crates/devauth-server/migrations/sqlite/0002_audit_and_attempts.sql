-- Security-relevant events, kept for `devauthd audit`. Never holds a secret.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    client_id TEXT,
    user_id TEXT,
    address TEXT,
    detail TEXT
);

CREATE INDEX audit_events_at ON audit_events (at);

-- One row per failed attempt (wrong user code, wrong password, unknown device code), keyed by
-- what is limited: an account, a session or an address. Counting rows in a time range gives a
-- sliding window that every replica shares.
CREATE TABLE failed_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    limit_key TEXT NOT NULL,
    at INTEGER NOT NULL
);

CREATE INDEX failed_attempts_key_at ON failed_attempts (limit_key, at);
