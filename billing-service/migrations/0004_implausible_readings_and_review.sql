-- migration: implausible meter readings, sessions that need review, interval energy

-- A register rise above what the EVSE can deliver in the time between two readings (a
-- placeholder Transaction.Begin of 0 followed by the lifetime register, a meter fault) is not
-- billed; the session counts such rises and needs review, review_reason saying why.
ALTER TABLE charger_usage_log ADD COLUMN implausible_readings integer NOT NULL DEFAULT 0;
ALTER TABLE charger_usage_log ADD COLUMN needs_review boolean NOT NULL DEFAULT false;
ALTER TABLE charger_usage_log ADD COLUMN review_reason text;
-- GET /sessions?review=true: the few sessions to review, newest first, without a scan.
CREATE INDEX charger_usage_log_review_idx ON charger_usage_log (start_time DESC)
  WHERE needs_review;

-- Energy.Active.Import.Interval: each event's sum, and the session's (its energy when no event
-- carries a register reading).
ALTER TABLE transaction_events ADD COLUMN energy_interval_wh double precision;
ALTER TABLE charger_usage_log ADD COLUMN interval_wh double precision NOT NULL DEFAULT 0;
