-- migration: token sessions (issue 14): the authorization decided for each transaction's token
-- One row per transaction whose TransactionEvent brought an idToken before it ended: the token
-- that authorized it and the decision, so that a repeated event gets the first answer and a
-- token's concurrent transactions can be counted (ConcurrentTx). A row stops counting once its
-- transaction has Ended (control's transactions table), its connector has been reported
-- Available since it started, or it is older than --token-session-max-age (then it is deleted).
CREATE TABLE token_sessions (
  charger_id text NOT NULL,
  transaction_id text NOT NULL,
  type text NOT NULL,
  id_key text NOT NULL,
  evse_id integer NOT NULL DEFAULT 0,
  -- The station's timestamp of the event (compared with the connector's status time, which is
  -- the station's clock too) and the CSMS's time of the decision (for the age limit).
  started_at timestamptz NOT NULL,
  decided_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL,
  PRIMARY KEY (charger_id, transaction_id)
);
CREATE INDEX token_sessions_by_token ON token_sessions (type, id_key, decided_at);
CREATE INDEX token_sessions_by_age ON token_sessions (decided_at);
