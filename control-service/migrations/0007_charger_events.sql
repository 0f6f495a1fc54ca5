-- migration: charger event log
-- Each charger's event log: what it reported (security events, every NotifyEvent item, firmware
-- and log-upload progress, status history, standalone meter values) and the CSMS's own security
-- events about it. Partitioned by day of receipt so that retention drops whole partitions
-- instead of deleting rows; control creates the days ahead and drops the expired ones
-- (EventLogStore::Maintain). The default partition only catches what falls outside them.
CREATE TABLE charger_events (
  id bigint GENERATED ALWAYS AS IDENTITY,
  charger_id text NOT NULL,
  kind text NOT NULL,
  type text NOT NULL DEFAULT '',
  received_at timestamptz NOT NULL,
  occurred_at timestamptz,
  connection_id text NOT NULL DEFAULT '',
  evse_id integer,
  connector_id integer,
  request_id integer,
  client_address text NOT NULL DEFAULT '',
  -- A repeated report (same charger, kind and payload) within two days is stored once.
  dedup_key text,
  payload jsonb NOT NULL,
  PRIMARY KEY (received_at, id)
) PARTITION BY RANGE (received_at);
CREATE TABLE charger_events_default PARTITION OF charger_events DEFAULT;
CREATE INDEX charger_events_by_charger ON charger_events (charger_id, id DESC);
CREATE INDEX charger_events_by_kind ON charger_events (charger_id, kind, type, id DESC);
CREATE INDEX charger_events_dedup ON charger_events (charger_id, dedup_key)
  WHERE dedup_key IS NOT NULL;
