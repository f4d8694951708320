-- Hardening: identities nobody proved, sign-in decay, webhook bodies kept
-- once.

-- The email address a public form gave for this contact. A contact opened
-- by the form owns no identity: the address was typed by an anonymous
-- visitor, so it joins nobody's thread and changes nobody's details; an
-- agent links or merges it.
ALTER TABLE contacts ADD COLUMN unverified_email TEXT;
CREATE INDEX contacts_unverified_email ON contacts(unverified_email);

-- When the last failed sign-in happened: failures older than the lock
-- period no longer count.
ALTER TABLE users ADD COLUMN last_failed_login_at TEXT;

-- A webhook body is stored once per source, however often it is replayed.
ALTER TABLE webhook_events ADD COLUMN body_sha256 TEXT;
CREATE UNIQUE INDEX webhook_events_body ON webhook_events(source, body_sha256);
CREATE INDEX outbox_kind_created ON outbox(kind, created_at);
