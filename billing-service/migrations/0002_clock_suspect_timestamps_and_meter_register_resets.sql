-- migration: clock-suspect timestamps and meter register resets

-- A station timestamp more than 5 minutes after received_at, or before 2020-01-01, is suspect:
-- the raw time stays in event_time, and the session is dated by received_at instead.
ALTER TABLE transaction_events ADD COLUMN clock_suspect boolean NOT NULL DEFAULT false;
ALTER TABLE charger_usage_log ADD COLUMN clock_suspect boolean NOT NULL DEFAULT false;
-- Times the register went down within the session (meter replaced or reset); energy is then
-- the sum of the segments' increases, not last minus first.
ALTER TABLE charger_usage_log ADD COLUMN meter_resets integer NOT NULL DEFAULT 0;

-- Flag what is already stored with the rule as it stands at this version. Billed figures of
-- existing sessions are left as they were billed: a ledger never rewrites them silently.
UPDATE transaction_events SET clock_suspect = true
 WHERE event_time < '2020-01-01T00:00:00Z' OR event_time > received_at + interval '5 minutes';
UPDATE charger_usage_log u SET clock_suspect = true
 WHERE EXISTS (SELECT 1 FROM transaction_events e WHERE e.clock_suspect
               AND e.charger_id = u.charger_id AND e.transaction_id = u.transaction_id);
