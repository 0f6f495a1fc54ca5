-- migration: charger message limits
-- What a charger accepts in one GetVariables / SetVariables CALL (DeviceDataCtrlr.ItemsPerMessage
-- and BytesPerMessage, instances GetVariables and SetVariables), learned from its answers; null
-- while unknown. Commands larger than that are split into several CALLs.
CREATE TABLE charger_message_limits (
  charger_id text PRIMARY KEY,
  get_variables_items integer,
  set_variables_items integer,
  get_variables_bytes integer,
  set_variables_bytes integer,
  updated_at timestamptz NOT NULL DEFAULT now()
);
