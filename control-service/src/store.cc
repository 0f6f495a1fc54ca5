#include "csms/control/store.h"

#include <cmath>
#include <map>
#include <pqxx/pqxx>
#include <type_traits>

#include "csms/control/decisions.h"

namespace csms::control {
namespace {

// Runs fn(txn) in one read-write transaction on a pooled connection and commits.
template <typename Fn>
auto Transact(pg::Pool& pool, Fn&& fn) {
  return pool.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    if constexpr (std::is_void_v<decltype(fn(txn))>) {
      fn(txn);
      txn.commit();
    } else {
      auto result = fn(txn);
      txn.commit();
      return result;
    }
  });
}

// Timestamps go to PostgreSQL as RFC 3339 text and come back as epoch seconds.
std::string Ts(TimePoint t) { return FormatRfc3339(t, /*millis=*/true); }

TimePoint FromEpoch(double seconds) {
  return TimePoint(std::chrono::microseconds(std::llround(seconds * 1e6)));
}

std::optional<TimePoint> OptionalTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return FromEpoch(f.as<double>());
}

const char* const kChargerColumns =
    "charger_id, vendor, model, serial_number, firmware_version, registration_status, connected,"
    " connection_id, gateway_address, extract(epoch from last_seen) AS last_seen,"
    " coalesce(active_transaction_id, '') AS active_transaction_id,"
    " coalesce(charging_state, '') AS charging_state, current_power_w, energy_kwh,"
    " charging_limit_w";

const char* const kConnectorColumns =
    "charger_id, evse_id, connector_id, status, extract(epoch from status_time) AS status_time";

ChargerRecord ReadCharger(const pqxx::row& row) {
  ChargerRecord c;
  c.charger_id = row["charger_id"].as<std::string>();
  c.vendor = row["vendor"].as<std::string>();
  c.model = row["model"].as<std::string>();
  c.serial_number = row["serial_number"].as<std::string>();
  c.firmware_version = row["firmware_version"].as<std::string>();
  c.registration_status = row["registration_status"].as<std::string>();
  c.connected = row["connected"].as<bool>();
  c.connection_id = row["connection_id"].as<std::string>();
  c.gateway_address = row["gateway_address"].as<std::string>();
  c.last_seen = OptionalTime(row["last_seen"]);
  c.active_transaction_id = row["active_transaction_id"].as<std::string>();
  c.charging_state = row["charging_state"].as<std::string>();
  c.current_power_w = row["current_power_w"].as<double>();
  c.energy_kwh = row["energy_kwh"].as<double>();
  if (!row["charging_limit_w"].is_null()) c.charging_limit_w = row["charging_limit_w"].as<double>();
  return c;
}

ConnectorRecord ReadConnector(const pqxx::row& row) {
  return {row["evse_id"].as<int>(), row["connector_id"].as<int>(), row["status"].as<std::string>(),
          FromEpoch(row["status_time"].as<double>())};
}

// Entries per UPDATE in UpdateLastSeen: two parameters each, far below libpq's 65535.
constexpr size_t kLastSeenChunk = 1000;

// A remote start without a remoteStartId in the events (seed dialect) is matched to the first
// new transaction on its charger within this window.
constexpr int kCorrelationWindowSeconds = 60;

}  // namespace

const std::vector<pg::Migration>& ControlMigrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, "control schema", R"sql(
CREATE TABLE chargers (
  charger_id text PRIMARY KEY,
  vendor text NOT NULL DEFAULT '',
  model text NOT NULL DEFAULT '',
  serial_number text NOT NULL DEFAULT '',
  firmware_version text NOT NULL DEFAULT '',
  registration_status text NOT NULL DEFAULT '',
  connected boolean NOT NULL DEFAULT false,
  connection_id text NOT NULL DEFAULT '',
  gateway_address text NOT NULL DEFAULT '',
  connected_at timestamptz,
  last_seen timestamptz,
  active_transaction_id text,
  charging_state text,
  current_power_w double precision NOT NULL DEFAULT 0,
  energy_kwh double precision NOT NULL DEFAULT 0,
  charging_limit_w double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE connectors (
  charger_id text NOT NULL,
  evse_id integer NOT NULL,
  connector_id integer NOT NULL,
  status text NOT NULL,
  status_time timestamptz NOT NULL,
  PRIMARY KEY (charger_id, evse_id, connector_id)
);

CREATE TABLE boot_log (
  id bigserial PRIMARY KEY,
  charger_id text NOT NULL,
  connection_id text NOT NULL DEFAULT '',
  reason text NOT NULL DEFAULT '',
  vendor text NOT NULL DEFAULT '',
  model text NOT NULL DEFAULT '',
  serial_number text NOT NULL DEFAULT '',
  firmware_version text NOT NULL DEFAULT '',
  decided_status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX boot_log_charger ON boot_log (charger_id, created_at);

-- remoteStartId is an OCPP integer, so the sequence stays within 32 bits.
CREATE SEQUENCE remote_start_id_seq AS integer;
CREATE TABLE remote_starts (
  remote_start_id bigint PRIMARY KEY DEFAULT nextval('remote_start_id_seq'),
  charger_id text NOT NULL,
  evse_id integer NOT NULL,
  id_token text NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'Requested',
  transaction_id text
);
ALTER SEQUENCE remote_start_id_seq OWNED BY remote_starts.remote_start_id;
CREATE INDEX remote_starts_pending ON remote_starts (charger_id, requested_at)
  WHERE transaction_id IS NULL;

CREATE TABLE transactions (
  charger_id text NOT NULL,
  transaction_id text NOT NULL,
  remote_start_id bigint,
  evse_id integer NOT NULL DEFAULT 0,
  charging_state text NOT NULL DEFAULT '',
  started_at timestamptz,
  ended boolean NOT NULL DEFAULT false,
  ended_at timestamptz,
  energy_kwh double precision NOT NULL DEFAULT 0,
  cost double precision NOT NULL DEFAULT 0,
  currency text NOT NULL DEFAULT '',
  stop_reason text NOT NULL DEFAULT '',
  power_w double precision NOT NULL DEFAULT 0,
  -- order_key of the newest event applied, so late events do not roll the state back.
  last_order_key bigint NOT NULL DEFAULT -1,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (charger_id, transaction_id)
);

CREATE TABLE charging_profiles (
  id serial PRIMARY KEY,
  charger_id text NOT NULL,
  profile_id integer NOT NULL,
  evse_id integer NOT NULL,
  purpose text NOT NULL,
  limit_w double precision NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX charging_profiles_charger ON charging_profiles (charger_id, created_at);
)sql"},
  };
  return kMigrations;
}

ControlStore::ConnectOutcome ControlStore::MarkConnected(const std::string& charger_id,
                                                         const std::string& connection_id,
                                                         const std::string& gateway_address,
                                                         TimePoint connected_at) {
  return Transact(pool_, [&](pqxx::work& txn) {
    ConnectOutcome outcome;
    txn.exec_params0("INSERT INTO chargers (charger_id) VALUES ($1) ON CONFLICT DO NOTHING",
                     charger_id);
    const pqxx::row before = txn.exec_params1(
        "SELECT registration_status, connected, connection_id, gateway_address,"
        " connected_at IS NOT NULL AND connected_at > $2::timestamptz AS newer_recorded"
        " FROM chargers WHERE charger_id = $1 FOR UPDATE",
        charger_id, Ts(connected_at));
    outcome.registration_status = before["registration_status"].as<std::string>();
    const std::string previous = before["connection_id"].as<std::string>();
    if (previous == connection_id) return outcome;  // a retried report
    if (before["newer_recorded"].as<bool>()) {
      // A late report of an older connection: the newer one stays, the older one must go.
      outcome.close_connection_id = connection_id;
      outcome.close_gateway_address = gateway_address;
      return outcome;
    }
    if (before["connected"].as<bool>() && !previous.empty()) {
      outcome.close_connection_id = previous;
      outcome.close_gateway_address = before["gateway_address"].as<std::string>();
    }
    txn.exec_params0(
        "UPDATE chargers SET connected = true, connection_id = $2, gateway_address = $3,"
        " connected_at = $4::timestamptz,"
        " last_seen = greatest(last_seen, $4::timestamptz), updated_at = now()"
        " WHERE charger_id = $1",
        charger_id, connection_id, gateway_address, Ts(connected_at));
    return outcome;
  });
}

bool ControlStore::MarkDisconnected(const std::string& charger_id, const std::string& connection_id,
                                    TimePoint at) {
  return Transact(pool_, [&](pqxx::work& txn) {
    return txn.exec_params(
                  "UPDATE chargers SET connected = false,"
                  " last_seen = greatest(last_seen, $3::timestamptz), updated_at = now()"
                  " WHERE charger_id = $1 AND connection_id = $2 AND connected",
                  charger_id, connection_id, Ts(at))
               .affected_rows() > 0;
  });
}

void ControlStore::RecordBoot(const BootRecord& boot, const std::string& decided_status) {
  Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "INSERT INTO chargers (charger_id, vendor, model, serial_number, firmware_version,"
        " registration_status) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (charger_id) DO UPDATE SET vendor = EXCLUDED.vendor,"
        " model = EXCLUDED.model, serial_number = EXCLUDED.serial_number,"
        " firmware_version = EXCLUDED.firmware_version,"
        " registration_status = EXCLUDED.registration_status, updated_at = now()",
        boot.charger_id, boot.vendor, boot.model, boot.serial_number, boot.firmware_version,
        decided_status);
    txn.exec_params0(
        "INSERT INTO boot_log (charger_id, connection_id, reason, vendor, model, serial_number,"
        " firmware_version, decided_status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        boot.charger_id, boot.connection_id, boot.reason, boot.vendor, boot.model,
        boot.serial_number, boot.firmware_version, decided_status);
  });
}

bool ControlStore::UpsertConnectorStatus(const std::string& charger_id,
                                         const std::string& connection_id, int evse_id,
                                         int connector_id, const std::string& status,
                                         TimePoint at) {
  // An equal timestamp still wins: stations often report whole seconds, and then the later
  // arrival is the better guess.
  return Transact(pool_, [&](pqxx::work& txn) {
    return txn.exec_params(
                  "INSERT INTO connectors (charger_id, evse_id, connector_id, status, status_time)"
                  " SELECT $1, $2, $3, $4, $5::timestamptz"
                  " WHERE $6 = '' OR NOT EXISTS (SELECT 1 FROM chargers WHERE charger_id = $1"
                  "   AND connection_id <> '' AND connection_id <> $6)"
                  " ON CONFLICT (charger_id, evse_id, connector_id) DO UPDATE SET"
                  " status = EXCLUDED.status, status_time = EXCLUDED.status_time"
                  " WHERE connectors.status_time <= EXCLUDED.status_time",
                  charger_id, evse_id, connector_id, status, Ts(at), connection_id)
               .affected_rows() > 0;
  });
}

void ControlStore::UpdateLastSeen(const std::vector<LastSeenEntry>& entries) {
  for (size_t begin = 0; begin < entries.size(); begin += kLastSeenChunk) {
    size_t end = std::min(entries.size(), begin + kLastSeenChunk);
    std::string values;
    std::vector<std::string> params;
    for (size_t i = begin; i < end; ++i) {
      if (!values.empty()) values += ", ";
      values += "($" + std::to_string(params.size() + 1) + ", $" +
                std::to_string(params.size() + 2) + "::timestamptz)";
      params.push_back(entries[i].charger_id);
      params.push_back(Ts(entries[i].seen_at));
    }
    // One statement per batch; a charger named twice keeps its newest time.
    Transact(pool_, [&](pqxx::work& txn) {
      txn.exec_params0(
          "UPDATE chargers c SET last_seen = greatest(c.last_seen, v.seen_at)"
          " FROM (SELECT charger_id, max(seen_at) AS seen_at FROM (VALUES " +
              values +
              ") AS t (charger_id, seen_at) GROUP BY charger_id) v"
              " WHERE c.charger_id = v.charger_id",
          pqxx::prepare::make_dynamic_params(params));
    });
  }
}

void ControlStore::ApplyTransactionEvent(const csms::control::v1::TransactionEventReport& report) {
  const auto& ev = report.event();
  const bool is_ended = ev.event_type() == csms::ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;
  TimePoint event_time = FromProto(ev.timestamp());
  if (event_time.time_since_epoch().count() == 0) event_time = FromProto(ev.received_at());
  // A null pointer is passed as SQL NULL.
  std::string remote_start_text =
      ev.has_remote_start_id() ? std::to_string(ev.remote_start_id()) : "";
  const char* remote_start_param = ev.has_remote_start_id() ? remote_start_text.c_str() : nullptr;

  Transact(pool_, [&](pqxx::work& txn) {
    const bool inserted = txn.exec_params(
                                 "INSERT INTO transactions (charger_id, transaction_id,"
                                 " started_at) VALUES ($1, $2, $3::timestamptz)"
                                 " ON CONFLICT DO NOTHING",
                                 ev.charger_id(), ev.transaction_id(), Ts(event_time))
                              .affected_rows() == 1;
    pqxx::row prev = txn.exec_params1(
        "UPDATE transactions SET remote_start_id = coalesce(remote_start_id, $3::bigint),"
        " evse_id = CASE WHEN evse_id = 0 THEN $4 ELSE evse_id END,"
        " started_at = least(started_at, $5::timestamptz), updated_at = now()"
        " WHERE charger_id = $1 AND transaction_id = $2"
        " RETURNING ended, last_order_key, charging_state, power_w,"
        " remote_start_id IS NOT NULL AS has_remote_start",
        ev.charger_id(), ev.transaction_id(), remote_start_param, ev.evse_id(), Ts(event_time));
    const bool was_ended = prev["ended"].as<bool>();

    const bool applies =
        EventApplies(is_ended, was_ended, ev.order_key(), prev["last_order_key"].as<int64_t>());
    // The live figures after this event: an empty state or a missing power sample keeps the
    // previous value; billing's report carries the session's energy and cost.
    const std::string state = ev.charging_state().empty() ? prev["charging_state"].as<std::string>()
                                                          : ev.charging_state();
    const double power_w = is_ended           ? 0
                           : ev.has_power_w() ? ev.power_w()
                                              : prev["power_w"].as<double>();
    if (applies) {
      txn.exec_params0(
          "UPDATE transactions SET charging_state = $3, power_w = $4, energy_kwh = $5, cost = $6,"
          " currency = $7, last_order_key = greatest(last_order_key, $8),"
          " ended = ended OR $9, ended_at = CASE WHEN $9 THEN coalesce(ended_at, $10::timestamptz)"
          " ELSE ended_at END, stop_reason = CASE WHEN $9 THEN $11 ELSE stop_reason END"
          " WHERE charger_id = $1 AND transaction_id = $2",
          ev.charger_id(), ev.transaction_id(), state, power_w, report.energy_consumed_kwh(),
          report.total_cost(), report.currency(), ev.order_key(), is_ended, Ts(event_time),
          ev.stopped_reason());
    }

    // The charger's live state follows its newest transaction.
    if (was_ended || is_ended) {
      txn.exec_params0(
          "UPDATE chargers SET active_transaction_id = NULL, charging_state = NULL,"
          " current_power_w = 0, energy_kwh = 0, updated_at = now()"
          " WHERE charger_id = $1 AND active_transaction_id = $2",
          ev.charger_id(), ev.transaction_id());
    } else if (applies) {
      txn.exec_params0(
          "INSERT INTO chargers (charger_id, active_transaction_id, charging_state,"
          " current_power_w, energy_kwh) VALUES ($1, $2, nullif($3, ''), $4, $5)"
          " ON CONFLICT (charger_id) DO UPDATE SET"
          " active_transaction_id = EXCLUDED.active_transaction_id,"
          " charging_state = EXCLUDED.charging_state, current_power_w = EXCLUDED.current_power_w,"
          " energy_kwh = EXCLUDED.energy_kwh, updated_at = now()",
          ev.charger_id(), ev.transaction_id(), state, power_w, report.energy_consumed_kwh());
    }

    if (ev.has_remote_start_id()) {
      txn.exec_params0(
          "UPDATE remote_starts SET transaction_id = $3, status = 'Started'"
          " WHERE remote_start_id = $2 AND charger_id = $1 AND transaction_id IS NULL",
          ev.charger_id(), ev.remote_start_id(), ev.transaction_id());
    } else if (inserted && !prev["has_remote_start"].as<bool>() && !ev.offline()) {
      // The seed's simulator does not echo remoteStartId: take the oldest pending remote start
      // of this charger (and EVSE, if named). SKIP LOCKED keeps two concurrent first events from
      // claiming the same one.
      pqxx::result matched = txn.exec_params(
          "UPDATE remote_starts r SET transaction_id = $2, status = 'Started'"
          " FROM (SELECT remote_start_id FROM remote_starts"
          "  WHERE charger_id = $1 AND transaction_id IS NULL"
          "  AND status IN ('Requested', 'Accepted')"
          "  AND requested_at > now() - $4 * interval '1 second' AND ($3 = 0 OR evse_id = $3)"
          "  ORDER BY requested_at, remote_start_id LIMIT 1 FOR UPDATE SKIP LOCKED) c"
          " WHERE r.remote_start_id = c.remote_start_id RETURNING r.remote_start_id",
          ev.charger_id(), ev.transaction_id(), ev.evse_id(), kCorrelationWindowSeconds);
      if (!matched.empty()) {
        txn.exec_params0(
            "UPDATE transactions SET remote_start_id = $3"
            " WHERE charger_id = $1 AND transaction_id = $2",
            ev.charger_id(), ev.transaction_id(), matched[0][0].as<int64_t>());
      }
    }
  });
}

std::optional<ChargerRecord> ControlStore::FindCharger(const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<ChargerRecord> {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        std::string("SELECT ") + kChargerColumns + " FROM chargers WHERE charger_id = $1",
        charger_id);
    if (rows.empty()) return std::nullopt;
    ChargerRecord charger = ReadCharger(rows[0]);
    for (const auto& row : txn.exec_params(std::string("SELECT ") + kConnectorColumns +
                                               " FROM connectors WHERE charger_id = $1"
                                               " ORDER BY evse_id, connector_id",
                                           charger_id)) {
      charger.connectors.push_back(ReadConnector(row));
    }
    return charger;
  });
}

std::vector<ChargerRecord> ControlStore::ListChargers() {
  return pool_.Run([&](pqxx::connection& conn) {
    // One snapshot for both queries, so connectors match their chargers.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn);
    std::vector<ChargerRecord> chargers;
    std::map<std::string, size_t> index;
    for (const auto& row : txn.exec(std::string("SELECT ") + kChargerColumns +
                                    " FROM chargers ORDER BY charger_id")) {
      index[row["charger_id"].as<std::string>()] = chargers.size();
      chargers.push_back(ReadCharger(row));
    }
    for (const auto& row :
         txn.exec(std::string("SELECT ") + kConnectorColumns +
                  " FROM connectors ORDER BY charger_id, evse_id, connector_id")) {
      auto it = index.find(row["charger_id"].as<std::string>());
      if (it != index.end()) chargers[it->second].connectors.push_back(ReadConnector(row));
    }
    return chargers;
  });
}

int64_t ControlStore::CreateRemoteStart(const std::string& charger_id, int evse_id,
                                        const std::string& id_token) {
  return Transact(pool_, [&](pqxx::work& txn) {
    return txn
        .exec_params1(
            "INSERT INTO remote_starts (charger_id, evse_id, id_token) VALUES ($1, $2, $3)"
            " RETURNING remote_start_id",
            charger_id, evse_id, id_token)[0]
        .as<int64_t>();
  });
}

void ControlStore::SetRemoteStartStatus(int64_t remote_start_id, const std::string& status) {
  // Once correlated (Started) a remote start keeps that status.
  Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE remote_starts SET status = $2 WHERE remote_start_id = $1 AND transaction_id IS "
        "NULL",
        remote_start_id, status);
  });
}

void ControlStore::SetRemoteStartTransaction(int64_t remote_start_id,
                                             const std::string& transaction_id) {
  Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "UPDATE remote_starts SET transaction_id = $2, status = 'Started'"
        " WHERE remote_start_id = $1 AND transaction_id IS NULL",
        remote_start_id, transaction_id);
  });
}

std::string ControlStore::RemoteStartTransaction(int64_t remote_start_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        "SELECT coalesce(transaction_id, '') FROM remote_starts WHERE remote_start_id = $1",
        remote_start_id);
    return rows.empty() ? std::string() : rows[0][0].as<std::string>();
  });
}

std::optional<TransactionRecord> ControlStore::FindTransaction(const std::string& charger_id,
                                                               const std::string& transaction_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<TransactionRecord> {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        "SELECT ended, energy_kwh, cost, currency FROM transactions"
        " WHERE charger_id = $1 AND transaction_id = $2",
        charger_id, transaction_id);
    if (rows.empty()) return std::nullopt;
    return TransactionRecord{rows[0]["ended"].as<bool>(), rows[0]["energy_kwh"].as<double>(),
                             rows[0]["cost"].as<double>(), rows[0]["currency"].as<std::string>()};
  });
}

void ControlStore::RecordChargingProfile(const std::string& charger_id, int profile_id, int evse_id,
                                         const std::string& purpose, double limit_w,
                                         const std::string& status, bool in_force) {
  Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "INSERT INTO charging_profiles (charger_id, profile_id, evse_id, purpose, limit_w, status)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        charger_id, profile_id, evse_id, purpose, limit_w, status);
    if (in_force) {
      txn.exec_params0(
          "UPDATE chargers SET charging_limit_w = $2, updated_at = now() WHERE charger_id = $1",
          charger_id, limit_w);
    }
  });
}

}  // namespace csms::control
