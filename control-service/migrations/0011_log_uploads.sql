-- migration: log uploads (GetLog with the gateway as the upload target)
-- One row per GetLog the CSMS sends, written before the CALL goes. The upload URL carries a
-- random token; only its SHA-256 is stored. The bytes arrive through a gateway in chunks, each
-- tagged with the HTTP request (attempt) they came in; the last chunk makes its attempt the
-- upload's content in one transaction, so a broken upload never replaces a whole one.
CREATE TABLE log_uploads (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  charger_id text NOT NULL,
  request_id integer NOT NULL,
  log_type text NOT NULL CHECK (log_type IN ('DiagnosticsLog', 'SecurityLog')),
  token_sha256 bytea NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  oldest_at timestamptz,
  latest_at timestamptz,
  -- Requested, the GetLog answer, then each LogStatusNotification status, or Expired.
  state text NOT NULL DEFAULT 'Requested',
  outcome text NOT NULL DEFAULT 'in_progress'
    CHECK (outcome IN ('in_progress', 'uploaded', 'failed', 'rejected', 'canceled', 'expired')),
  filename text NOT NULL DEFAULT '',
  requested_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The stored content: which attempt, and what it is.
  content_attempt text,
  received_filename text NOT NULL DEFAULT '',
  content_type text NOT NULL DEFAULT '',
  size_bytes bigint NOT NULL DEFAULT 0,
  sha256 bytea,
  received_at timestamptz,
  client_address text NOT NULL DEFAULT '',
  detail text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX log_uploads_request ON log_uploads (charger_id, request_id);
CREATE INDEX log_uploads_by_charger ON log_uploads (charger_id, id DESC);

CREATE TABLE log_upload_chunks (
  upload_id bigint NOT NULL REFERENCES log_uploads ON DELETE CASCADE,
  attempt text NOT NULL,
  seq integer NOT NULL,
  data bytea NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (upload_id, attempt, seq)
);

-- Where each gateway can be reached over HTTP(S) by the chargers it holds (its
-- --public-base-url), learnt when a charger connects through it.
CREATE TABLE gateway_public_urls (
  gateway_address text PRIMARY KEY,
  public_base_url text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
