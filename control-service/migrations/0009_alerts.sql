-- migration: alerts and webhooks
-- Alerts (connector faulted, security event, charger offline / online, ...) are raised in the
-- transaction of what caused them (a transactional outbox), each with one delivery per webhook
-- that wanted it at that moment. Dispatchers in every control replica claim the head of each
-- (webhook, charger) queue with FOR UPDATE SKIP LOCKED and a lease, and log every attempt.
CREATE TABLE webhooks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL DEFAULT '',
  url text NOT NULL,
  -- The HMAC-SHA256 key of X-CSMS-Signature: needed in clear to sign, never shown after it was
  -- created (or rotated).
  secret text NOT NULL,
  kinds text[] NOT NULL,
  -- charger_offline / charger_online: silent for this many heartbeat intervals.
  offline_intervals integer NOT NULL DEFAULT 3 CHECK (offline_intervals > 0),
  charger_ids text[],  -- NULL: every charger
  enabled boolean NOT NULL DEFAULT true,
  created_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uid uuid NOT NULL UNIQUE,  -- the Idempotency-Key receivers see
  kind text NOT NULL,
  charger_id text NOT NULL DEFAULT '',
  occurred_at timestamptz NOT NULL,
  raised_at timestamptz NOT NULL,
  body text NOT NULL  -- the exact JSON every attempt of every delivery sends
);
CREATE INDEX alerts_by_charger ON alerts (charger_id, id DESC);
CREATE INDEX alerts_by_kind ON alerts (kind, id DESC);

CREATE TABLE webhook_deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id bigint NOT NULL REFERENCES webhooks ON DELETE CASCADE,
  alert_id bigint NOT NULL REFERENCES alerts ON DELETE CASCADE,
  -- The queue: deliveries of one (webhook, queue) go one at a time, in id order. The alert's
  -- charger, or for an alert about no charger (a test) its own uid.
  queue text NOT NULL,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'delivered', 'rejected', 'expired')),
  attempts integer NOT NULL DEFAULT 0,  -- also the lease's token: Record needs the claim's number
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz,
  last_http_status integer,
  last_error text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  UNIQUE (webhook_id, alert_id)
);
-- The heads of the queues, and what is due.
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, queue, id)
  WHERE state = 'pending';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
  WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX webhook_deliveries_by_alert ON webhook_deliveries (alert_id);

-- Every attempt of every delivery.
CREATE TABLE webhook_attempts (
  delivery_id bigint NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
  attempt integer NOT NULL,
  started_at timestamptz NOT NULL,
  http_status integer,  -- NULL: no answer (network error, timeout)
  outcome text NOT NULL,  -- delivered | retry | rejected
  error text NOT NULL DEFAULT '',
  latency_ms integer NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);

-- One row per charger and threshold N: open while its charger_offline alert stands, closed by
-- the charger's next message (charger_online). An episode is alerted once.
CREATE TABLE charger_offline_episodes (
  charger_id text NOT NULL,
  offline_intervals integer NOT NULL,
  open boolean NOT NULL,
  last_seen timestamptz NOT NULL,  -- open: the silence began here; closed: the message that ended it
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (charger_id, offline_intervals)
);
CREATE INDEX charger_offline_episodes_open ON charger_offline_episodes (charger_id) WHERE open;
