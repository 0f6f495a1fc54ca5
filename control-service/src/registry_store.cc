#include "csms/control/registry_store.h"

#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

using pg::FromEpochSeconds;
using pg::OptionalTime;

const char* const kChargerColumns =
    "charger_id, vendor, model, serial_number, firmware_version, registration_status, connected,"
    " connection_id, gateway_address, extract(epoch from last_seen) AS last_seen,"
    " coalesce(live.transaction_id, '') AS active_transaction_id,"
    " coalesce(live.charging_state, '') AS charging_state,"
    " coalesce(live.power_w, 0) AS current_power_w, coalesce(live.energy_kwh, 0) AS energy_kwh,"
    " charging_limit_w, coalesce((SELECT s.station_id FROM station_chargers s"
    "  WHERE s.charger_id = chargers.charger_id), '') AS station_id,"
    " (SELECT k.security_profile FROM charger_credentials k"
    "  WHERE k.charger_id = chargers.charger_id) AS security_profile";

// The charger and its live transaction: the most recently started one that has not ended
// (migration 0016's index), derived here so that TransactionEvents never write the charger's row.
const char* const kChargerFrom =
    " FROM chargers LEFT JOIN LATERAL (SELECT t.transaction_id, t.charging_state, t.power_w,"
    "  t.energy_kwh FROM transactions t WHERE t.charger_id = chargers.charger_id AND NOT t.ended"
    "  ORDER BY t.started_at DESC NULLS LAST, t.transaction_id DESC LIMIT 1) AS live ON true";

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
  if (!row["security_profile"].is_null()) c.security_profile = row["security_profile"].as<int>();
  c.active_transaction_id = row["active_transaction_id"].as<std::string>();
  c.charging_state = row["charging_state"].as<std::string>();
  c.current_power_w = row["current_power_w"].as<double>();
  c.energy_kwh = row["energy_kwh"].as<double>();
  if (!row["charging_limit_w"].is_null()) c.charging_limit_w = row["charging_limit_w"].as<double>();
  c.station_id = row["station_id"].as<std::string>();
  return c;
}

// Unended transactions, newest first per charger (migration 0016's index).
const char* const kLiveColumns =
    "charger_id, transaction_id, evse_id, charging_state, power_w, energy_kwh";
const char* const kLiveOrder =
    " ORDER BY charger_id, started_at DESC NULLS LAST, transaction_id DESC";

LiveTransaction ReadLive(const pqxx::row& row) {
  return {row["transaction_id"].as<std::string>(), row["evse_id"].as<int>(),
          row["charging_state"].as<std::string>(), row["power_w"].as<double>(),
          row["energy_kwh"].as<double>()};
}

ConnectorRecord ReadConnector(const pqxx::row& row) {
  return {row["evse_id"].as<int>(), row["connector_id"].as<int>(), row["status"].as<std::string>(),
          FromEpochSeconds(row["status_time"].as<double>())};
}

}  // namespace

namespace {
WriteResult ApplyOne(RegistryStore& store, const WriteOp& op) {
  return store.ApplyBatch({&op}).at(0);
}
}  // namespace

RegistryStore::ConnectOutcome RegistryStore::MarkConnected(const std::string& charger_id,
                                                           const std::string& connection_id,
                                                           const std::string& gateway_address,
                                                           TimePoint connected_at) {
  return ApplyOne(*this, ConnectOp{charger_id, connection_id, gateway_address, connected_at})
      .connect;
}

bool RegistryStore::MarkDisconnected(const std::string& charger_id,
                                     const std::string& connection_id, TimePoint at) {
  return ApplyOne(*this, DisconnectOp{charger_id, connection_id, at}).applied;
}

std::string RegistryStore::RecordBoot(const BootRecord& boot, const std::string& decided_status,
                                      bool require_provisioning) {
  return ApplyOne(*this, BootOp{boot, decided_status, require_provisioning}).boot_status;
}

bool RegistryStore::UpsertConnectorStatus(const std::string& charger_id,
                                          const std::string& connection_id, int evse_id,
                                          int connector_id, const std::string& status,
                                          TimePoint at) {
  return ApplyOne(*this, StatusOp{charger_id, connection_id, evse_id, connector_id, status, at})
      .applied;
}

void RegistryStore::UpdateLastSeen(const std::vector<LastSeenEntry>& entries) {
  ApplyOne(*this, LastSeenOp{entries});
}

void RegistryStore::ApplyTransactionEvent(const csms::control::v1::TransactionEventReport& report) {
  ApplyOne(*this, TransactionEventOp{report});
}

std::optional<ChargerRecord> RegistryStore::FindCharger(const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<ChargerRecord> {
    pqxx::read_transaction txn(conn);
    pqxx::result rows = txn.exec_params(
        std::string("SELECT ") + kChargerColumns + kChargerFrom + " WHERE chargers.charger_id = $1",
        charger_id);
    if (rows.empty()) return std::nullopt;
    ChargerRecord charger = ReadCharger(rows[0]);
    for (const auto& row : txn.exec_params(std::string("SELECT ") + kConnectorColumns +
                                               " FROM connectors WHERE charger_id = $1"
                                               " ORDER BY evse_id, connector_id",
                                           charger_id)) {
      charger.connectors.push_back(ReadConnector(row));
    }
    for (const auto& row :
         txn.exec_params(std::string("SELECT ") + kLiveColumns +
                             " FROM transactions WHERE charger_id = $1 AND NOT ended" + kLiveOrder,
                         charger_id)) {
      charger.live_transactions.push_back(ReadLive(row));
    }
    return charger;
  });
}

std::vector<ChargerRecord> RegistryStore::ListChargers() {
  return pool_.Run([&](pqxx::connection& conn) {
    // One snapshot for the three queries, so connectors and transactions match their chargers.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn);
    std::vector<ChargerRecord> chargers;
    std::map<std::string, size_t> index;
    for (const auto& row : txn.exec(std::string("SELECT ") + kChargerColumns + kChargerFrom +
                                    " ORDER BY chargers.charger_id")) {
      index[row["charger_id"].as<std::string>()] = chargers.size();
      chargers.push_back(ReadCharger(row));
    }
    for (const auto& row :
         txn.exec(std::string("SELECT ") + kConnectorColumns +
                  " FROM connectors ORDER BY charger_id, evse_id, connector_id")) {
      auto it = index.find(row["charger_id"].as<std::string>());
      if (it != index.end()) chargers[it->second].connectors.push_back(ReadConnector(row));
    }
    for (const auto& row : txn.exec(std::string("SELECT ") + kLiveColumns +
                                    " FROM transactions WHERE NOT ended" + kLiveOrder)) {
      auto it = index.find(row["charger_id"].as<std::string>());
      if (it != index.end()) chargers[it->second].live_transactions.push_back(ReadLive(row));
    }
    return chargers;
  });
}

std::optional<TransactionRecord> RegistryStore::FindTransaction(const std::string& charger_id,
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

v1::ChargerEvent StatusHistoryEvent(const StatusOp& op, TimePoint received_at) {
  v1::ChargerEvent e;
  e.set_charger_id(op.charger_id);
  e.set_kind("StatusNotification");
  e.set_type(op.status);
  *e.mutable_received_at() = ToProto(received_at);
  *e.mutable_occurred_at() = ToProto(op.at);
  e.set_connection_id(op.connection_id);
  e.set_evse_id(op.evse_id);
  e.set_connector_id(op.connector_id);
  e.set_payload_json(nlohmann::json{
      {"timestamp", FormatRfc3339(op.at, /*millis=*/true)},
      {"connectorStatus", op.status},
      {"evseId", op.evse_id},
      {"connectorId",
       op.connector_id}}.dump());
  return e;
}

}  // namespace csms::control
