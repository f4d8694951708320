-- Raw webhook bodies, stored before the 200 and processed afterwards, so a
-- crash between the answer and the processing loses nothing. Delivery and
-- read receipts of outbound messages.

CREATE TABLE webhook_events (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    body          BYTEA NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    lease_until   TIMESTAMPTZ,
    processed_at  TIMESTAMPTZ,
    last_error    TEXT
);
CREATE INDEX webhook_events_pending ON webhook_events(processed_at, received_at);

ALTER TABLE outbox ADD COLUMN delivered_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN read_at TIMESTAMPTZ;
CREATE INDEX outbox_provider_message ON outbox(provider_message_id);
CREATE INDEX messages_external ON messages(channel, external_id);
