-- migration: device model
-- What each charger is and runs, from its NotifyReports (B07/B08) and kept current by the answers
-- to SetVariables and GetVariables. A report arrives in parts (seqNo, tbc), in any order and
-- possibly twice; each part is applied once, as it arrives. A complete FullInventory replaces
-- the charger's model (variables it no longer lists are removed); every other report merges.
-- Secret values (passwords, keys, WriteOnly variables) are never stored: value NULL, secret true.
CREATE SEQUENCE ocpp_request_id_seq AS integer;  -- requestIds the CSMS chooses
CREATE TABLE device_model_reports (
  charger_id text NOT NULL,
  request_id integer NOT NULL,
  scope text NOT NULL,  -- FullInventory, ConfigurationInventory, SummaryInventory, Custom, Unsolicited
  requested_by text NOT NULL DEFAULT '',
  requested_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL,
  generated_at timestamptz,
  final_seq_no integer,  -- seqNo of the part with tbc false, once it came
  parts_received integer NOT NULL DEFAULT 0,
  items_received integer NOT NULL DEFAULT 0,
  last_part_at timestamptz,
  completed_at timestamptz,
  PRIMARY KEY (charger_id, request_id)
);
CREATE TABLE device_model_report_parts (
  charger_id text NOT NULL,
  request_id integer NOT NULL,
  seq_no integer NOT NULL,
  tbc boolean NOT NULL,
  items integer NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (charger_id, request_id, seq_no)
);
CREATE TABLE device_variables (
  charger_id text NOT NULL,
  -- component|instance|evse|connector|variable|instance, names case-folded (OCPP compares them
  -- case-insensitively)
  variable_key text NOT NULL,
  component text NOT NULL,
  component_instance text NOT NULL DEFAULT '',
  evse_id integer,
  connector_id integer,
  variable text NOT NULL,
  variable_instance text NOT NULL DEFAULT '',
  data_type text NOT NULL DEFAULT '',
  unit text NOT NULL DEFAULT '',
  min_limit double precision,
  max_limit double precision,
  values_list text NOT NULL DEFAULT '',
  supports_monitoring boolean NOT NULL DEFAULT false,
  report_request_id integer,  -- the last report that listed it (a FullInventory sweeps the rest)
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (charger_id, variable_key)
);
CREATE INDEX device_variables_by_name ON device_variables (charger_id, lower(component), lower(variable));
CREATE TABLE device_variable_attributes (
  charger_id text NOT NULL,
  variable_key text NOT NULL,
  type text NOT NULL,  -- Actual, Target, MinSet, MaxSet
  value text,          -- NULL: secret, WriteOnly or not reported
  secret boolean NOT NULL DEFAULT false,
  mutability text NOT NULL DEFAULT '',
  persistent boolean NOT NULL DEFAULT false,
  constant boolean NOT NULL DEFAULT false,
  source text NOT NULL,  -- NotifyReport, SetVariables, GetVariables
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (charger_id, variable_key, type),
  FOREIGN KEY (charger_id, variable_key) REFERENCES device_variables ON DELETE CASCADE
);
-- Fetching a charger's model after an Accepted boot (B07): new chargers, changed firmware or
-- hardware, or none complete yet. Replicas claim due rows under a shared cap, so a reconnect
-- storm of new chargers never turns into as many simultaneous reports.
CREATE TABLE device_model_fetches (
  charger_id text PRIMARY KEY,
  reason text NOT NULL,  -- new, firmware_changed, hardware_changed, never_completed
  state text NOT NULL,   -- queued, running, done, failed
  due_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  request_id integer,
  lease_until timestamptz,
  last_outcome text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_model_fetches_due ON device_model_fetches (due_at) WHERE state = 'queued';
