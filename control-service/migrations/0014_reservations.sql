-- migration: reservations
-- OCPP 2.0.1 H01-H04. The CSMS chooses each reservation's id (ReserveNow.id is an OCPP integer,
-- so the sequence stays within 32 bits; one sequence for all chargers, so an id is unique per
-- charger too). The row is written before ReserveNow goes and keeps the charger's answer.
-- States: requested, active, rejected, failed (open: requested, active, failed), then
-- cancelled, expired, removed or used, which are final.
CREATE SEQUENCE reservation_id_seq AS integer;
CREATE TABLE reservations (
  reservation_id integer PRIMARY KEY DEFAULT nextval('reservation_id_seq'),
  charger_id text NOT NULL,
  evse_id integer,  -- NULL: any EVSE of the charger
  id_token text NOT NULL,
  token_type text NOT NULL,
  group_id_token text,
  group_type text,
  expires_at timestamptz NOT NULL,
  state text NOT NULL DEFAULT 'requested'
    CHECK (state IN ('requested', 'active', 'rejected', 'failed', 'cancelled', 'expired',
                     'removed', 'used')),
  status text NOT NULL DEFAULT '',  -- the charger's answer to ReserveNow
  transaction_id text,              -- the transaction that used it
  requested_by text NOT NULL DEFAULT '',
  detail text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz
);
ALTER SEQUENCE reservation_id_seq OWNED BY reservations.reservation_id;
CREATE INDEX reservations_by_charger ON reservations (charger_id, reservation_id DESC);
-- The expiry sweep's work: open reservations by expiry.
CREATE INDEX reservations_open_by_expiry ON reservations (expires_at)
  WHERE state IN ('requested', 'active', 'failed');
