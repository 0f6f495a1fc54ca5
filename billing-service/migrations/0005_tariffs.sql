-- migration: tariffs, versioned, per station; each session's tariff version and cost breakdown

-- A tariff version never changes once stored: PutTariff adds version n + 1. definition is the
-- csms.billing.v1.Tariff message in proto3 JSON (time_zone filled in), so a version reads back
-- exactly as it was stored.
CREATE TABLE tariffs (
  tariff_id text NOT NULL,
  version integer NOT NULL,
  valid_from timestamptz NOT NULL,
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tariff_id, version)
);
CREATE INDEX tariffs_valid_from_idx ON tariffs (tariff_id, valid_from DESC, version DESC);

-- The tariff of the sessions that start at a station; a station without a row uses "default".
CREATE TABLE station_tariffs (
  station_id text PRIMARY KEY,
  tariff_id text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The version that priced the session (NULL: billing's --price-per-kwh), chosen once, when the
-- session's first event was stored; and what its cost is made of, the components of
-- csms.billing.v1.CostBreakdown in this order: energy, charging time, idle, session fee, minimum or
-- maximum adjustment, tax (each in millionths of the currency), prices exclude tax (0 or 1),
-- charging ms, idle ms, total in the currency's minor unit. NULL: priced before tariffs, all of
-- the cost is energy.
ALTER TABLE charger_usage_log ADD COLUMN tariff_id text;
ALTER TABLE charger_usage_log ADD COLUMN tariff_version integer;
ALTER TABLE charger_usage_log ADD COLUMN cost_components bigint[];
