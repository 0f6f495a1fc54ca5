-- migration: local authorization lists and authorization cache clears (issue 14)

-- When a StatusNotification reported the transaction's connector Available after it started: the
-- session no longer counts towards its token's ConcurrentTx (connectors keeps only the newest
-- status, which is Occupied again once the next driver plugs in).
ALTER TABLE token_sessions ADD COLUMN freed_at timestamptz;
-- A TransactionEvent's Central token is the CSMS's own when a remote start of that charger named
-- the transaction already (RequestStartTransactionResponse.transactionId).
CREATE INDEX remote_starts_by_transaction ON remote_starts (charger_id, transaction_id)
  WHERE transaction_id IS NOT NULL;

-- When a token last authorized a transaction: a charger's local list holds the most recently
-- used tokens first when it cannot hold them all. Not a change of the token (no change_seq).
ALTER TABLE tokens ADD COLUMN last_used_at timestamptz;
CREATE INDEX tokens_by_use ON tokens (last_used_at DESC NULLS LAST, change_seq DESC)
  WHERE status = 'Accepted';

-- The CSMS's copy of each charger's local list (D01): the version the charger accepted last,
-- the token change sequence it reflects, and its entries as sent.
CREATE TABLE local_lists (
  charger_id text PRIMARY KEY,
  version integer NOT NULL DEFAULT 0,
  synced_seq bigint NOT NULL DEFAULT -1,
  -- The next update replaces the whole list (first sync, a version the charger reported
  -- differently, a refused Differential).
  full_needed boolean NOT NULL DEFAULT true,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'syncing', 'in_sync', 'failed')),
  lease_until timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  due_at timestamptz NOT NULL DEFAULT now(),
  -- The connection whose list version was read (GetLocalListVersion once per connection).
  checked_connection text,
  entries integer NOT NULL DEFAULT 0,
  last_outcome text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE local_list_entries (
  charger_id text NOT NULL,
  type text NOT NULL,
  id_key text NOT NULL,
  entry text NOT NULL,  -- the AuthorizationData as sent (serialized JSON)
  PRIMARY KEY (charger_id, type, id_key)
);

-- Chargers whose device model enables the list or the cache are found through these.
CREATE INDEX device_variables_local_list_enabled ON device_variables (charger_id)
  WHERE lower(component) = 'localauthlistctrlr' AND lower(variable) = 'enabled';
CREATE INDEX device_variables_auth_cache_enabled ON device_variables (charger_id)
  WHERE lower(component) = 'authcachectrlr' AND lower(variable) = 'enabled';

-- C11: a token that stops being usable (blocked, deleted, expired by an edit) may still sit in
-- chargers' authorization caches as Accepted. Every such change, whichever path made it (REST,
-- gRPC, import), adds a row here; every charger with an enabled cache gets a ClearCache once for
-- all rows up to the newest (auth_cache_cleared).
CREATE TABLE auth_cache_clears (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  requested_at timestamptz NOT NULL DEFAULT now(),
  reason text NOT NULL
);
CREATE TABLE auth_cache_cleared (
  charger_id text PRIMARY KEY,
  cleared_id bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION tokens_request_cache_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO auth_cache_clears (reason)
      SELECT 'tokens deleted' WHERE EXISTS (SELECT 1 FROM old_rows WHERE status = 'Accepted');
  ELSE
    INSERT INTO auth_cache_clears (reason)
      SELECT 'tokens blocked or expired' WHERE EXISTS (
        SELECT 1 FROM old_rows o JOIN new_rows n ON n.type = o.type AND n.id_key = o.id_key
         WHERE o.status = 'Accepted' AND (n.status <> 'Accepted'
           OR (n.expires_at <= now() AND (o.expires_at IS NULL OR o.expires_at > now()))));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tokens_cache_clear_on_update AFTER UPDATE ON tokens
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tokens_request_cache_clear();
CREATE TRIGGER tokens_cache_clear_on_delete AFTER DELETE ON tokens
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tokens_request_cache_clear();
