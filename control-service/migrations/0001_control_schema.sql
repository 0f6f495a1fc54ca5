-- migration: control schema

CREATE TABLE chargers (
  charger_id text PRIMARY KEY,
  vendor text NOT NULL DEFAULT '',
  model text NOT NULL DEFAULT '',
  serial_number text NOT NULL DEFAULT '',
  firmware_version text NOT NULL DEFAULT '',
  registration_status text NOT NULL DEFAULT '',
  connected boolean NOT NULL DEFAULT false,
  connection_id text NOT NULL DEFAULT '',
  gateway_address text NOT NULL DEFAULT '',
  connected_at timestamptz,
  last_seen timestamptz,
  active_transaction_id text,
  charging_state text,
  current_power_w double precision NOT NULL DEFAULT 0,
  energy_kwh double precision NOT NULL DEFAULT 0,
  charging_limit_w double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE connectors (
  charger_id text NOT NULL,
  evse_id integer NOT NULL,
  connector_id integer NOT NULL,
  status text NOT NULL,
  status_time timestamptz NOT NULL,
  PRIMARY KEY (charger_id, evse_id, connector_id)
);

CREATE TABLE boot_log (
  id bigserial PRIMARY KEY,
  charger_id text NOT NULL,
  connection_id text NOT NULL DEFAULT '',
  reason text NOT NULL DEFAULT '',
  vendor text NOT NULL DEFAULT '',
  model text NOT NULL DEFAULT '',
  serial_number text NOT NULL DEFAULT '',
  firmware_version text NOT NULL DEFAULT '',
  decided_status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX boot_log_charger ON boot_log (charger_id, created_at);

-- remoteStartId is an OCPP integer, so the sequence stays within 32 bits.
CREATE SEQUENCE remote_start_id_seq AS integer;
CREATE TABLE remote_starts (
  remote_start_id bigint PRIMARY KEY DEFAULT nextval('remote_start_id_seq'),
  charger_id text NOT NULL,
  evse_id integer NOT NULL,
  id_token text NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'Requested',
  transaction_id text
);
ALTER SEQUENCE remote_start_id_seq OWNED BY remote_starts.remote_start_id;
CREATE INDEX remote_starts_pending ON remote_starts (charger_id, requested_at)
  WHERE transaction_id IS NULL;

CREATE TABLE transactions (
  charger_id text NOT NULL,
  transaction_id text NOT NULL,
  remote_start_id bigint,
  evse_id integer NOT NULL DEFAULT 0,
  charging_state text NOT NULL DEFAULT '',
  started_at timestamptz,
  ended boolean NOT NULL DEFAULT false,
  ended_at timestamptz,
  energy_kwh double precision NOT NULL DEFAULT 0,
  cost double precision NOT NULL DEFAULT 0,
  currency text NOT NULL DEFAULT '',
  stop_reason text NOT NULL DEFAULT '',
  power_w double precision NOT NULL DEFAULT 0,
  -- order_key of the newest event applied, so late events do not roll the state back.
  last_order_key bigint NOT NULL DEFAULT -1,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (charger_id, transaction_id)
);

CREATE TABLE charging_profiles (
  id serial PRIMARY KEY,
  charger_id text NOT NULL,
  profile_id integer NOT NULL,
  evse_id integer NOT NULL,
  purpose text NOT NULL,
  limit_w double precision NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX charging_profiles_charger ON charging_profiles (charger_id, created_at);
