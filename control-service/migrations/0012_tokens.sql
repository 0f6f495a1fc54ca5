-- migration: id tokens (issue 14): the token store, its deletions and its audit log
-- A token is OCPP's idToken + type. OCPP matches idTokens case-insensitively, so the key is
-- (type, lower(id_token)); the value is kept as given. Every insert and update takes a fresh
-- change_seq from token_change_seq, and every deletion leaves a tombstone with a seq from the
-- same sequence: a charger's local authorization list is brought up to date from the changes
-- after the sequence number it was last sent (Differential updates).
CREATE SEQUENCE token_change_seq;

CREATE TABLE tokens (
  type text NOT NULL CHECK (type IN ('Central', 'eMAID', 'ISO14443', 'ISO15693', 'KeyCode',
                                     'Local', 'MacAddress', 'NoAuthorization')),
  id_token text NOT NULL CHECK (length(id_token) <= 36),
  id_key text NOT NULL,
  status text NOT NULL DEFAULT 'Accepted'
    CHECK (status IN ('Accepted', 'Blocked', 'Expired', 'Invalid')),
  expires_at timestamptz,
  group_type text,
  group_id_token text CHECK (length(group_id_token) <= 36),
  account_id text CHECK (length(account_id) <= 64),
  max_concurrent integer NOT NULL DEFAULT 1 CHECK (max_concurrent >= 1),
  -- NULL: valid at every station.
  stations text[],
  language text CHECK (length(language) <= 8),
  personal_message text CHECK (length(personal_message) <= 512),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  change_seq bigint NOT NULL DEFAULT nextval('token_change_seq'),
  PRIMARY KEY (type, id_key),
  CHECK (id_key = lower(id_token)),
  CHECK ((group_type IS NULL) = (group_id_token IS NULL))
);
-- GET /tokens?account_id=&status= pages by (type, id_key).
CREATE INDEX tokens_by_account ON tokens (account_id, type, id_key) WHERE account_id IS NOT NULL;
CREATE INDEX tokens_by_status ON tokens (status, type, id_key);
-- Tokens of a group (C09: another token of the group may stop a session).
CREATE INDEX tokens_by_group ON tokens (group_type, lower(group_id_token))
  WHERE group_id_token IS NOT NULL;
-- Differential local list updates read the changes after a sequence number.
CREATE UNIQUE INDEX tokens_by_change ON tokens (change_seq);

CREATE TABLE token_deletions (
  seq bigint PRIMARY KEY DEFAULT nextval('token_change_seq'),
  type text NOT NULL,
  id_key text NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now()
);

-- One row per REST change (created, replaced, deleted) with the token before and after, and one
-- per import batch (imported) with a summary in `after`.
CREATE TABLE token_audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL DEFAULT '',
  action text NOT NULL CHECK (action IN ('created', 'replaced', 'deleted', 'imported')),
  type text,
  id_token text,
  before jsonb,
  after jsonb
);
CREATE INDEX token_audit_by_token ON token_audit (type, lower(id_token), id DESC)
  WHERE id_token IS NOT NULL;
