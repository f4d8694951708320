-- Conditions an administrator must act on (a channel's credentials refused),
-- one row per source and kind: raised again it counts, cleared it stays as
-- history until raised anew. And the audit log: every state change, who
-- made it (a user, a citizen through a channel, the system), before and
-- after; rows can be added, never changed or removed.

CREATE TABLE alarms (
    source          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    message         TEXT NOT NULL,
    occurrences     INTEGER NOT NULL DEFAULT 1,
    first_raised_at TEXT NOT NULL,
    last_raised_at  TEXT NOT NULL,
    cleared_at      TEXT,
    PRIMARY KEY (source, kind)
) STRICT;

CREATE TABLE audit_log (
    id       TEXT PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    before   TEXT,
    after    TEXT
) STRICT;
CREATE INDEX audit_log_subject ON audit_log(subject, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
