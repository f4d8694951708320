-- Phone calls and counter visits an agent recorded, contact details staff
-- can correct, merged contacts, and threads linked across channels.

-- outcome: 'resolved' (answered at first contact, no thread) or 'request'
-- (a request with a reference number was opened: thread_id).
CREATE TABLE contact_log (
    id            TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    contact_id    TEXT NOT NULL REFERENCES contacts(id),
    recorded_by   TEXT NOT NULL REFERENCES users(id),
    request_text  TEXT NOT NULL,
    topic         TEXT,
    outcome       TEXT NOT NULL,
    thread_id     TEXT REFERENCES threads(id),
    created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX contact_log_created ON contact_log(created_at);
CREATE INDEX contact_log_contact ON contact_log(contact_id, created_at);

-- version: bumped by every edit, so two agents editing one citizen see a
-- conflict. name_key: the name folded (lower case, no accents) for search
-- and merge suggestions. merged_into: the contact that absorbed this one.
ALTER TABLE contacts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE contacts ADD COLUMN name_key TEXT;
ALTER TABLE contacts ADD COLUMN postal_address TEXT;
ALTER TABLE contacts ADD COLUMN merged_into TEXT REFERENCES contacts(id);
CREATE INDEX contacts_name_key ON contacts(name_key);
CREATE INDEX contacts_phone ON contacts(phone);

-- Two threads of one citizen an agent linked (thread_a < thread_b).
CREATE TABLE thread_links (
    thread_a    TEXT NOT NULL REFERENCES threads(id),
    thread_b    TEXT NOT NULL REFERENCES threads(id),
    linked_by   TEXT NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (thread_a, thread_b)
) STRICT;
CREATE INDEX thread_links_b ON thread_links(thread_b);
