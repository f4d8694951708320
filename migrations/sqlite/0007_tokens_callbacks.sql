-- Personal API tokens narrower than their owner (a role no higher than
-- the owner's, or reads only), and notes that record a phone callback.

-- role: the highest role the token acts with (NULL: the owner's role).
-- read_only: 1 when the token may only read (GET).
ALTER TABLE api_tokens ADD COLUMN role TEXT;
ALTER TABLE api_tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
CREATE INDEX api_tokens_user ON api_tokens(user_id, created_at);

-- kind: 'note' (internal) or 'callback' (the citizen is to be, or was,
-- called back at phone, when a chat's reply window has closed).
ALTER TABLE thread_notes ADD COLUMN kind TEXT NOT NULL DEFAULT 'note';
ALTER TABLE thread_notes ADD COLUMN phone TEXT;
