-- Conditions an administrator must act on (a channel's credentials refused),
-- one row per source and kind: raised again it counts, cleared it stays as
-- history until raised anew.

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
