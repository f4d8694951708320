-- Email intake: where each IMAP mailbox was read up to (written in the same
-- transaction as the message it follows), the messages that could not be
-- read at all (kept for an agent with the reason), and which process reads a
-- mailbox (a lease here; PostgreSQL uses an advisory lock instead).

CREATE TABLE mailbox_checkpoints (
    mailbox       TEXT PRIMARY KEY,
    uid_validity  INTEGER NOT NULL,
    last_uid      INTEGER NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE quarantined_mail (
    id            TEXT PRIMARY KEY,
    mailbox       TEXT NOT NULL,
    uid_validity  INTEGER NOT NULL,
    uid           INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL,
    raw           BLOB,
    received_at   TEXT NOT NULL,
    UNIQUE (mailbox, uid_validity, uid)
) STRICT;

CREATE TABLE mailbox_leases (
    mailbox      TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    lease_until  TEXT NOT NULL
) STRICT;
