-- Email intake: where each IMAP mailbox was read up to (written in the same
-- transaction as the message it follows) and the messages that could not be
-- read at all (kept for an agent with the reason). Which process reads a
-- mailbox is decided by an advisory lock, so there is no lease table here.

CREATE TABLE mailbox_checkpoints (
    mailbox       TEXT PRIMARY KEY,
    uid_validity  BIGINT NOT NULL,
    last_uid      BIGINT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE quarantined_mail (
    id            TEXT PRIMARY KEY,
    mailbox       TEXT NOT NULL,
    uid_validity  BIGINT NOT NULL,
    uid           BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    raw           BYTEA,
    received_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (mailbox, uid_validity, uid)
);
