-- The same schema as migrations/postgres, for SQLite. Keep the two in step.
-- Times are Unix milliseconds in UTC. Flags are 0 or 1.

CREATE TABLE clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    -- The `{client.identification}` tag: an MD5 hex digest fixed when the client is created.
    identification TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    username TEXT NOT NULL UNIQUE,
    name TEXT,
    email TEXT,
    lang TEXT,
    -- The deployment's extra agent columns, as a JSON object of strings.
    columns TEXT NOT NULL DEFAULT '{}',
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- API tokens: an agent may have several, each revocable.
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    -- SHA-256 of the token, in hex. The token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE INDEX tokens_by_agent ON tokens (agent_id);

CREATE TABLE hooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    url TEXT NOT NULL,
    target TEXT NOT NULL,
    event TEXT NOT NULL,
    -- GET carries the data in the URL; POST also sends a JSON description of the event.
    method TEXT NOT NULL DEFAULT 'GET' CHECK (method IN ('GET', 'POST')),
    enabled INTEGER NOT NULL DEFAULT 1,
    -- Why the hook was disabled, when Callout disabled it.
    disabled_reason TEXT,
    -- The signing secret (`whsec_...`), and the one it replaced while that stays valid.
    secret TEXT,
    previous_secret TEXT,
    previous_secret_until INTEGER,
    -- Start of the current run of failed attempts; null after a success.
    failing_since INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE INDEX hooks_by_event ON hooks (client_id, target, event);

CREATE TABLE calling_lists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    name TEXT NOT NULL,
    -- The header row of the imported file, as a JSON array.
    columns TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES agents (id),
    created_at INTEGER NOT NULL
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    calling_list_id INTEGER NOT NULL REFERENCES calling_lists (id) ON DELETE CASCADE,
    -- One row of the file, as a JSON object from column to value.
    fields TEXT NOT NULL
);

CREATE INDEX contacts_by_list ON contacts (calling_list_id);

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    name TEXT NOT NULL,
    -- The campaign this one was copied from. It may have been deleted since.
    copy_of INTEGER,
    created_by INTEGER NOT NULL REFERENCES agents (id),
    created_at INTEGER NOT NULL
);

-- The outbox: one row per call-out, written in the transaction of the change that fired it.
-- A hook's deliveries outlive the hook, so `hook_id` has no foreign key.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id INTEGER NOT NULL,
    client_id INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    target TEXT NOT NULL,
    event TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    -- The `webhook-id` header of every attempt.
    message_id TEXT NOT NULL UNIQUE,
    -- The hook's method and URL template, the tag values and the JSON description of the
    -- event, all as they were at the event.
    method TEXT NOT NULL,
    template TEXT NOT NULL,
    variables TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- Attempts in all, and since the delivery was last redelivered by hand.
    attempts INTEGER NOT NULL DEFAULT 0,
    round_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A dispatcher's claim: nobody else attempts the delivery before this time.
    lease_until INTEGER,
    -- The latest attempt, also kept in delivery_attempts.
    url TEXT,
    response_status INTEGER,
    duration_ms INTEGER,
    response_body TEXT,
    error_class TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    completed_at INTEGER
);

CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_by_client ON deliveries (client_id, id);

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    attempt INTEGER NOT NULL,
    method TEXT NOT NULL,
    -- The URL called, passwords masked.
    url TEXT NOT NULL,
    -- The IP address and port the connection was made to.
    address TEXT,
    -- Headers as JSON arrays of [name, value] pairs.
    request_headers TEXT NOT NULL,
    response_status INTEGER,
    response_headers TEXT NOT NULL,
    -- The start of the body, as text, or in base64 when it is not UTF-8.
    response_body TEXT,
    response_body_utf8 INTEGER NOT NULL DEFAULT 1,
    response_body_truncated INTEGER NOT NULL DEFAULT 0,
    error_class TEXT,
    error TEXT,
    -- Milliseconds from the start of the attempt.
    dns_ms REAL,
    connect_ms REAL,
    tls_ms REAL,
    first_byte_ms REAL,
    total_ms REAL NOT NULL,
    started_at INTEGER NOT NULL,
    -- When the next attempt is due, if there is one.
    next_attempt_at INTEGER
);

CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id);
