-- migration: charger credentials

-- Provisioning, apart from chargers for the same reason as station_chargers. password_hash is
-- 'pbkdf2-sha256$<iterations>$<salt>$<hash>' (never the password); '' when the profile needs none.
CREATE TABLE charger_credentials (
  charger_id text PRIMARY KEY,
  security_profile integer NOT NULL DEFAULT 0 CHECK (security_profile BETWEEN 0 AND 3),
  password_hash text NOT NULL DEFAULT '',
  approved boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
