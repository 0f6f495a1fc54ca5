-- migration: token authorization (issue 14)

-- The CSMS's decision on the event's idToken, as the charger was answered: a repeated event is
-- answered with the stored idTokenInfo, never decided again.
ALTER TABLE transaction_events ADD COLUMN authorization_status text;
ALTER TABLE transaction_events ADD COLUMN account_id text;
ALTER TABLE transaction_events ADD COLUMN authorization_flagged boolean NOT NULL DEFAULT false;
ALTER TABLE transaction_events ADD COLUMN authorization_reason text;
ALTER TABLE transaction_events ADD COLUMN id_token_info jsonb;

-- The session's token (user_id is its value) and the decision that admitted it, from the same
-- event as user_id: the earliest that carries a token.
ALTER TABLE charger_usage_log ADD COLUMN id_token_type text;
ALTER TABLE charger_usage_log ADD COLUMN account_id text;
ALTER TABLE charger_usage_log ADD COLUMN authorization_status text;
ALTER TABLE charger_usage_log ADD COLUMN authorization_flagged boolean NOT NULL DEFAULT false;
ALTER TABLE charger_usage_log ADD COLUMN authorization_reason text;
CREATE INDEX charger_usage_log_account_idx ON charger_usage_log (account_id, start_time DESC)
  WHERE account_id IS NOT NULL;
CREATE INDEX charger_usage_log_account_stats_idx ON charger_usage_log (account_id, stats_date)
  WHERE account_id IS NOT NULL AND ended;
CREATE INDEX charger_usage_log_flagged_idx ON charger_usage_log (start_time DESC)
  WHERE authorization_flagged;
