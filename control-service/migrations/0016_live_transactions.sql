-- migration: a charger's live transaction derived from transactions (issue 15)

-- A TransactionEvent used to write two rows: its transaction's and, for the charger's live view,
-- the charger's. Reads now take the charger's most recently started transaction that has not
-- ended (registry_store.cc), through this index; the charger's row is written only by
-- connections, boots and last-seen reports.
CREATE INDEX transactions_live_idx ON transactions
  (charger_id, started_at DESC NULLS LAST, transaction_id DESC) WHERE NOT ended;

-- The columns chargers.active_transaction_id, charging_state, current_power_w and energy_kwh are
-- no longer written or read. They stay until a later release drops them, so that replicas of
-- the previous version keep working during a rolling upgrade.

-- Rows updated in place many times (every event of a transaction, every last-seen report of a
-- charger): free space on each page lets PostgreSQL update them without touching the indexes
-- (HOT updates).
ALTER TABLE transactions SET (fillfactor = 80);
ALTER TABLE chargers SET (fillfactor = 80);
