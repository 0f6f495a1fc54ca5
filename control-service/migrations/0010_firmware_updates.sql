-- migration: firmware update jobs
-- One row per UpdateFirmware the CSMS sends, written before the CALL goes (its requestId from
-- ocpp_request_id_seq, shared with every other command that carries one). Its state follows the
-- charger's FirmwareStatusNotifications with that requestId (the notifications themselves stay in
-- charger_events); the version after comes from the charger's next Accepted boot.
CREATE TABLE firmware_updates (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  charger_id text NOT NULL,
  request_id integer NOT NULL,
  location text NOT NULL,
  retrieve_at timestamptz NOT NULL,
  install_at timestamptz,
  signed boolean NOT NULL DEFAULT false,
  signing_certificate text,
  signature text,
  retries integer,
  retry_interval_s integer,
  -- Requested, the charger's answer, then each FirmwareStatusNotification status.
  state text NOT NULL DEFAULT 'Requested',
  outcome text NOT NULL DEFAULT 'in_progress'
    CHECK (outcome IN ('in_progress', 'installed', 'failed', 'rejected', 'canceled')),
  firmware_version_before text NOT NULL DEFAULT '',
  firmware_version_after text,
  requested_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_status_at timestamptz,
  detail text NOT NULL DEFAULT ''
);
-- At most one job in progress per charger.
CREATE UNIQUE INDEX firmware_updates_in_progress ON firmware_updates (charger_id)
  WHERE outcome = 'in_progress';
CREATE UNIQUE INDEX firmware_updates_request ON firmware_updates (charger_id, request_id);
CREATE INDEX firmware_updates_by_charger ON firmware_updates (charger_id, id DESC);
