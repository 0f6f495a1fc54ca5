-- migration: the most power the session's EVSE can deliver, from the charger's device model

-- Taken from the session's first event that carries it (TransactionEvent.evse_max_power_w);
-- NULL: unknown, the --max-evse-power-kw ceiling judges the readings.
ALTER TABLE charger_usage_log ADD COLUMN max_power_w double precision;
