-- The agents' and supervisors' workspace: staff accounts and their API
-- tokens, thread assignment, internal notes, and supervisors' decisions on
-- flagged messages. Inbox listing indexes.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    display_name   TEXT,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    failed_logins  BIGINT NOT NULL DEFAULT 0,
    locked_until   TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    disabled_at    TIMESTAMPTZ
);

-- Only the SHA-256 of a token is kept; the token itself is shown once.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    token_hash    TEXT NOT NULL UNIQUE,
    label         TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);

-- Signed-in browser sessions: the cookie holds a random token, the table
-- its SHA-256, with the session's CSRF token for every form.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

ALTER TABLE threads ADD COLUMN assignee_id TEXT REFERENCES users(id);
-- When the thread must be answered: the first-response target after an
-- unanswered citizen message, or 24 business hours after a transfer.
ALTER TABLE threads ADD COLUMN due_at TIMESTAMPTZ;
CREATE INDEX threads_due ON threads(category, due_at);
CREATE INDEX threads_inbox ON threads(category, last_message_at, id);
CREATE INDEX threads_inbox_status ON threads(category, status, last_message_at, id);

CREATE TABLE thread_notes (
    id          TEXT PRIMARY KEY,
    thread_id   TEXT NOT NULL REFERENCES threads(id),
    author_id   TEXT NOT NULL REFERENCES users(id),
    body        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX thread_notes_thread ON thread_notes(thread_id, created_at);

-- decision: 'confirmed' (kind: insult, threat, intimidation, harassment,
-- hate) or 'dismissed' (a false positive).
CREATE TABLE review_decisions (
    message_id  TEXT PRIMARY KEY REFERENCES messages(id),
    decision    TEXT NOT NULL,
    kind        TEXT,
    comment     TEXT NOT NULL DEFAULT '',
    decided_by  TEXT NOT NULL REFERENCES users(id),
    decided_at  TIMESTAMPTZ NOT NULL
);

-- Full-text search over messages, French stemming and accent-insensitive
-- ("deneigement" finds "déneigement"). unaccent is a trusted extension: a
-- database owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE FUNCTION inbox_unaccent(text) RETURNS text
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT;
-- Stored, so a search never recomputes it row by row.
ALTER TABLE messages ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('french', inbox_unaccent(coalesce(subject, '') || ' ' || body_text))) STORED;
CREATE INDEX messages_search ON messages USING GIN (search_vector);

-- Refusals of service: a supervisor's documented decision, with its reason
-- and last day, never automatic. While one stands, the contact's messages
-- still arrive, are flagged, and get the acknowledgement the city wrote for
-- that case.
CREATE TABLE service_refusals (
    id          TEXT PRIMARY KEY,
    contact_id  TEXT NOT NULL REFERENCES contacts(id),
    reason      TEXT NOT NULL,
    ends_on     DATE NOT NULL,
    decided_by  TEXT NOT NULL REFERENCES users(id),
    decided_at  TIMESTAMPTZ NOT NULL,
    lifted_at   TIMESTAMPTZ
);
CREATE INDEX service_refusals_contact ON service_refusals(contact_id, ends_on);
