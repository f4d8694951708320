-- Core schema: contacts and their channel identities, request threads with
-- reference numbers, messages, attachments, classification results, the
-- transactional outbox and the idempotency records.
-- Timestamps are timestamptz (UTC); ids are UUIDv7 text.

CREATE TABLE contacts (
    id            TEXT PRIMARY KEY,
    display_name  TEXT,
    language      TEXT NOT NULL DEFAULT 'fr',
    phone         TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE contact_identities (
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    contact_id  TEXT NOT NULL REFERENCES contacts(id),
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

CREATE TABLE reference_counters (
    prefix      TEXT NOT NULL,
    year        BIGINT NOT NULL,
    last_value  BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);

-- category: 'request' (has a reference), 'automatic' (auto-replies, lists,
-- bounces that match no request), 'spam'.
CREATE TABLE threads (
    id                       TEXT PRIMARY KEY,
    reference                TEXT UNIQUE,
    contact_id               TEXT NOT NULL REFERENCES contacts(id),
    channel                  TEXT NOT NULL,
    category                 TEXT NOT NULL DEFAULT 'request',
    subject                  TEXT,
    status                   TEXT NOT NULL DEFAULT 'awaiting_agent',
    topic                    TEXT,
    topic_source             TEXT,
    department               TEXT,
    flagged                  BOOLEAN NOT NULL DEFAULT FALSE,
    language                 TEXT NOT NULL DEFAULT 'fr',
    created_at               TIMESTAMPTZ NOT NULL,
    last_message_at          TIMESTAMPTZ NOT NULL,
    last_citizen_message_at  TIMESTAMPTZ,
    updated_at               TIMESTAMPTZ NOT NULL,
    version                  BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX threads_contact_channel ON threads(contact_id, channel, last_message_at);
CREATE INDEX threads_queue ON threads(status, created_at);

-- direction: 'inbound' (citizen or automaton), 'outbound' (sent by us).
CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    thread_id       TEXT NOT NULL REFERENCES threads(id),
    contact_id      TEXT NOT NULL REFERENCES contacts(id),
    direction       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    external_id     TEXT,
    rfc_message_id  TEXT,
    sender_kind     TEXT NOT NULL,
    sender_key      TEXT NOT NULL,
    sender_name     TEXT,
    subject         TEXT,
    body_text       TEXT NOT NULL DEFAULT '',
    new_text        TEXT NOT NULL DEFAULT '',
    body_html       TEXT,
    language        TEXT NOT NULL DEFAULT 'fr',
    received_at     TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    deleted_at      TIMESTAMPTZ
);
CREATE INDEX messages_thread ON messages(thread_id, received_at);

-- (channel, external_id) is the inbound deduplication key. It is claimed first
-- in every ingest transaction, so a replay stops before writing anything.
CREATE TABLE inbound_keys (
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);

-- Every RFC 5322 Message-ID we received or sent, for In-Reply-To threading.
CREATE TABLE rfc_message_ids (
    rfc_message_id  TEXT PRIMARY KEY,
    thread_id       TEXT NOT NULL REFERENCES threads(id),
    created_at      TIMESTAMPTZ NOT NULL
);

-- state: 'stored', 'remote', 'refused'.
CREATE TABLE attachments (
    id              TEXT PRIMARY KEY,
    message_id      TEXT NOT NULL REFERENCES messages(id),
    filename        TEXT,
    content_type    TEXT NOT NULL,
    size_bytes      BIGINT,
    sha256          TEXT,
    state           TEXT NOT NULL,
    url             TEXT,
    refused_reason  TEXT,
    content         BYTEA,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

-- One row per classified message; abuse_verdict is 'clean', 'to_verify' or 'abusive'.
CREATE TABLE classifications (
    message_id      TEXT PRIMARY KEY REFERENCES messages(id),
    topic           TEXT,
    topic_score     DOUBLE PRECISION,
    topic_abstain   TEXT,
    abuse_verdict   TEXT NOT NULL,
    abuse_kind      TEXT,
    abuse_score     DOUBLE PRECISION NOT NULL,
    reasons         TEXT NOT NULL DEFAULT '[]',
    model_version   TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Messages waiting for the classifier; inserted in the ingest transaction so
-- a restart never leaves a message unclassified.
CREATE TABLE classify_jobs (
    message_id   TEXT PRIMARY KEY REFERENCES messages(id),
    attempts     BIGINT NOT NULL DEFAULT 0,
    lease_until  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE outbox (
    id                   TEXT PRIMARY KEY,
    thread_id            TEXT NOT NULL REFERENCES threads(id),
    cause_message_id     TEXT REFERENCES messages(id),
    sent_message_id      TEXT REFERENCES messages(id),
    channel              TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    recipient_kind       TEXT NOT NULL,
    recipient_key        TEXT NOT NULL,
    language             TEXT NOT NULL,
    rfc_message_id       TEXT,
    payload              TEXT NOT NULL DEFAULT '{}',
    state                TEXT NOT NULL,
    attempts             BIGINT NOT NULL DEFAULT 0,
    max_attempts         BIGINT NOT NULL,
    next_attempt_at      TIMESTAMPTZ NOT NULL,
    lease_until          TIMESTAMPTZ,
    last_error           TEXT,
    provider_message_id  TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    sent_at              TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_thread ON outbox(thread_id);
CREATE INDEX outbox_recipient ON outbox(recipient_kind, recipient_key, created_at);

CREATE TABLE idempotency_keys (
    scope            TEXT NOT NULL,
    key              TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    response_status  BIGINT NOT NULL,
    response_body    TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);
