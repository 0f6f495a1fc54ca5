-- migration: stations

CREATE TABLE stations (
  station_id text PRIMARY KEY,
  name text NOT NULL,
  address text NOT NULL DEFAULT '',
  latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
  longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Its own table rather than a column of chargers: the gateways' group-committed writes lock
-- chargers rows, and an operator's edit should not wait for them (nor they for it). A charger
-- may be placed before it ever connects.
CREATE TABLE station_chargers (
  charger_id text PRIMARY KEY,
  station_id text NOT NULL REFERENCES stations (station_id) ON DELETE CASCADE,
  assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX station_chargers_station ON station_chargers (station_id, charger_id);
