-- migration: command log
-- Every CALL the CSMS sends a charger, whoever asked (an API key id or system:<what>), with its
-- outcome; request and response with their secrets redacted before they get here.
CREATE TABLE command_log (
  id bigserial PRIMARY KEY,
  charger_id text NOT NULL,
  issued_by text NOT NULL,
  action text NOT NULL,
  request jsonb NOT NULL,
  -- result, call_error, timeout, offline, invalid_reply, failed
  outcome text NOT NULL,
  response jsonb,
  sent_at timestamptz NOT NULL,
  latency_ms integer NOT NULL
);
CREATE INDEX command_log_charger_idx ON command_log (charger_id, id DESC);
