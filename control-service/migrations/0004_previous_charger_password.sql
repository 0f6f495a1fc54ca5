-- migration: previous charger password

-- OCPP A01: after a password change the old one stays valid until previous_valid_until, so the
-- charger's reconnect succeeds whether or not it took the new password yet.
ALTER TABLE charger_credentials
  ADD COLUMN previous_password_hash text NOT NULL DEFAULT '',
  ADD COLUMN previous_valid_until timestamptz;
