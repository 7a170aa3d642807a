-- The same schema as migrations/sqlite, for PostgreSQL. Keep the two in step.
-- Times are Unix milliseconds in UTC. Flags are 0 or 1.

CREATE TABLE clients (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    -- The `{client.identification}` tag: an MD5 hex digest fixed when the client is created.
    identification TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    username TEXT NOT NULL UNIQUE,
    name TEXT,
    email TEXT,
    lang TEXT,
    -- The deployment's extra agent columns, as a JSON object of strings.
    columns TEXT NOT NULL DEFAULT '{}',
    is_admin BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- API tokens: an agent may have several, each revocable.
CREATE TABLE tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id BIGINT NOT NULL REFERENCES agents (id),
    -- SHA-256 of the token, in hex. The token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX tokens_by_agent ON tokens (agent_id);

CREATE TABLE hooks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    url TEXT NOT NULL,
    target TEXT NOT NULL,
    event TEXT NOT NULL,
    -- GET carries the data in the URL; POST also sends a JSON description of the event.
    method TEXT NOT NULL DEFAULT 'GET' CHECK (method IN ('GET', 'POST')),
    enabled BIGINT NOT NULL DEFAULT 1,
    -- Why the hook was disabled, when Callout disabled it.
    disabled_reason TEXT,
    -- The signing secret (`whsec_...`), and the one it replaced while that stays valid.
    secret TEXT,
    previous_secret TEXT,
    previous_secret_until BIGINT,
    -- Start of the current run of failed attempts; null after a success.
    failing_since BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX hooks_by_event ON hooks (client_id, target, event);

CREATE TABLE calling_lists (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    name TEXT NOT NULL,
    -- The header row of the imported file, as a JSON array.
    columns TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES agents (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE contacts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    calling_list_id BIGINT NOT NULL REFERENCES calling_lists (id) ON DELETE CASCADE,
    -- One row of the file, as a JSON object from column to value.
    fields TEXT NOT NULL
);

CREATE INDEX contacts_by_list ON contacts (calling_list_id);

CREATE TABLE campaigns (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    name TEXT NOT NULL,
    -- The campaign this one was copied from. It may have been deleted since.
    copy_of BIGINT,
    created_by BIGINT NOT NULL REFERENCES agents (id),
    created_at BIGINT NOT NULL
);

-- The outbox: one row per call-out, written in the transaction of the change that fired it.
-- A hook's deliveries outlive the hook, so `hook_id` has no foreign key.
CREATE TABLE deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hook_id BIGINT NOT NULL,
    client_id BIGINT NOT NULL,
    agent_id BIGINT NOT NULL,
    target TEXT NOT NULL,
    event TEXT NOT NULL,
    object_id BIGINT NOT NULL,
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
    attempts BIGINT NOT NULL DEFAULT 0,
    round_attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A dispatcher's claim: nobody else attempts the delivery before this time.
    lease_until BIGINT,
    -- The latest attempt, also kept in delivery_attempts.
    url TEXT,
    response_status BIGINT,
    duration_ms BIGINT,
    response_body TEXT,
    error_class TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    completed_at BIGINT
);

CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_by_client ON deliveries (client_id, id);

CREATE TABLE delivery_attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id),
    attempt BIGINT NOT NULL,
    method TEXT NOT NULL,
    -- The URL called, passwords masked.
    url TEXT NOT NULL,
    -- The IP address and port the connection was made to.
    address TEXT,
    -- Headers as JSON arrays of [name, value] pairs.
    request_headers TEXT NOT NULL,
    response_status BIGINT,
    response_headers TEXT NOT NULL,
    -- The start of the body, as text, or in base64 when it is not UTF-8.
    response_body TEXT,
    response_body_utf8 BIGINT NOT NULL DEFAULT 1,
    response_body_truncated BIGINT NOT NULL DEFAULT 0,
    error_class TEXT,
    error TEXT,
    -- Milliseconds from the start of the attempt.
    dns_ms DOUBLE PRECISION,
    connect_ms DOUBLE PRECISION,
    tls_ms DOUBLE PRECISION,
    first_byte_ms DOUBLE PRECISION,
    total_ms DOUBLE PRECISION NOT NULL,
    started_at BIGINT NOT NULL,
    -- When the next attempt is due, if there is one.
    next_attempt_at BIGINT
);

CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id);
