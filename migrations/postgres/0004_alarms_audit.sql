-- Conditions an administrator must act on (a channel's credentials refused),
-- one row per source and kind: raised again it counts, cleared it stays as
-- history until raised anew. And the audit log: every state change, who
-- made it (a user, a citizen through a channel, the system), before and
-- after; rows can be added, never changed or removed.

CREATE TABLE alarms (
    source          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    message         TEXT NOT NULL,
    occurrences     BIGINT NOT NULL DEFAULT 1,
    first_raised_at TIMESTAMPTZ NOT NULL,
    last_raised_at  TIMESTAMPTZ NOT NULL,
    cleared_at      TIMESTAMPTZ,
    PRIMARY KEY (source, kind)
);

CREATE TABLE audit_log (
    id       TEXT PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    before   TEXT,
    after    TEXT
);
CREATE INDEX audit_log_subject ON audit_log(subject, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
