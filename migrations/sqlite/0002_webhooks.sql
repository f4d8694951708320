-- Raw webhook bodies, stored before the 200 and processed afterwards, so a
-- crash between the answer and the processing loses nothing. Delivery and
-- read receipts of outbound messages.

CREATE TABLE webhook_events (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    body          BLOB NOT NULL,
    received_at   TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    lease_until   TEXT,
    processed_at  TEXT,
    last_error    TEXT
) STRICT;
CREATE INDEX webhook_events_pending ON webhook_events(processed_at, received_at);

ALTER TABLE outbox ADD COLUMN delivered_at TEXT;
ALTER TABLE outbox ADD COLUMN read_at TEXT;
CREATE INDEX outbox_provider_message ON outbox(provider_message_id);
CREATE INDEX messages_external ON messages(channel, external_id);
