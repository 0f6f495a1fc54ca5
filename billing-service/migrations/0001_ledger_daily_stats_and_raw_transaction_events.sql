-- migration: ledger, daily stats and raw transaction events

-- One row per transaction: the seed's columns, then what the ledger needs to merge events that
-- arrive late, twice or out of order (positions are order_key + station timestamp).
CREATE TABLE charger_usage_log (
  id bigserial PRIMARY KEY,
  charger_id text NOT NULL,
  station_id text,
  transaction_id text NOT NULL,
  start_time timestamptz,
  end_time timestamptz,
  energy_consumed numeric(14,3) NOT NULL DEFAULT 0,
  cost numeric(14,2) NOT NULL DEFAULT 0,
  user_id text,
  created_at timestamptz DEFAULT now(),
  currency text NOT NULL DEFAULT '',
  stop_reason text,
  meter_start_wh double precision,
  meter_start_order bigint,
  meter_start_time timestamptz,
  meter_start_explicit boolean NOT NULL DEFAULT false,
  meter_stop_wh double precision,
  meter_stop_order bigint,
  meter_stop_time timestamptz,
  user_id_order bigint,
  user_id_time timestamptz,
  started_seen boolean NOT NULL DEFAULT false,
  ended boolean NOT NULL DEFAULT false,
  event_count integer NOT NULL DEFAULT 0,
  -- Local date (billing time zone) the session counts towards in daily_charger_stats.
  stats_date date,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- OCPP makes a transaction id unique per charging station, not across stations.
  UNIQUE (charger_id, transaction_id)
);
CREATE INDEX charger_usage_log_transaction_idx ON charger_usage_log (transaction_id);
CREATE INDEX charger_usage_log_charger_start_idx ON charger_usage_log (charger_id, start_time DESC);
CREATE INDEX charger_usage_log_start_idx ON charger_usage_log (start_time DESC);
CREATE INDEX charger_usage_log_stats_idx ON charger_usage_log (charger_id, stats_date) WHERE ended;

-- Recomputed from charger_usage_log whenever a session of that charger and date ends.
CREATE TABLE daily_charger_stats (
  charger_id text NOT NULL,
  date date NOT NULL,
  sessions integer NOT NULL DEFAULT 0,
  total_energy numeric(14,3) NOT NULL DEFAULT 0,
  total_revenue numeric(14,2) NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (charger_id, date)
);
CREATE INDEX daily_charger_stats_date_idx ON daily_charger_stats (date);

-- Every event as received, for idempotency (the unique key) and audit.
CREATE TABLE transaction_events (
  id bigserial PRIMARY KEY,
  charger_id text NOT NULL,
  transaction_id text NOT NULL,
  dedup_key text NOT NULL,
  seq_no bigint,
  order_key bigint NOT NULL,
  event_type text NOT NULL,
  trigger_reason text,
  charging_state text,
  stopped_reason text,
  event_time timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  energy_register_wh double precision,
  meter_start_wh double precision,
  power_w double precision,
  remote_start_id bigint,
  evse_id integer,
  connector_id integer,
  id_token text,
  id_token_type text,
  offline boolean NOT NULL DEFAULT false,
  dialect text,
  station_reported_cost double precision,
  connection_id text,
  raw_payload jsonb,
  stored_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (charger_id, transaction_id, dedup_key)
);
