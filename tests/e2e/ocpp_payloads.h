#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

// Payloads a test charger sends, written out the way the OCPP 2.0.1 schemas (and the seed
// simulator's dialect) say.
namespace csms::testing {

inline nlohmann::json BootPayload(const std::string& serial = "SN-1") {
  return {{"reason", "PowerUp"},
          {"chargingStation",
           {{"model", "Terra 53"}, {"vendorName", "ABB"}, {"serialNumber", serial}}}};
}

inline nlohmann::json StatusPayload(const std::string& status,
                                    const std::string& timestamp = "2026-11-24T09:00:00Z") {
  return {{"timestamp", timestamp}, {"connectorStatus", status}, {"evseId", 1}, {"connectorId", 1}};
}

// A standard TransactionEvent with one energy register sample (Wh) and optional power (W).
inline nlohmann::json StandardTxEvent(const std::string& type, const std::string& tx, int seq,
                                      const std::string& timestamp, double energy_wh,
                                      std::optional<double> power_w = std::nullopt,
                                      std::optional<int> remote_start_id = std::nullopt) {
  nlohmann::json samples = nlohmann::json::array();
  samples.push_back({{"value", energy_wh},
                     {"measurand", "Energy.Active.Import.Register"},
                     {"context", type == "Started" ? "Transaction.Begin"
                                 : type == "Ended" ? "Transaction.End"
                                                   : "Sample.Periodic"},
                     {"unitOfMeasure", {{"unit", "Wh"}}}});
  if (power_w) {
    samples.push_back({{"value", *power_w},
                       {"measurand", "Power.Active.Import"},
                       {"unitOfMeasure", {{"unit", "W"}}}});
  }
  nlohmann::json info = {{"transactionId", tx}};
  if (type != "Ended") info["chargingState"] = "Charging";
  if (type == "Ended") info["stoppedReason"] = "Remote";
  if (remote_start_id) info["remoteStartId"] = *remote_start_id;
  nlohmann::json event = {{"eventType", type},
                          {"timestamp", timestamp},
                          {"triggerReason", type == "Started" ? "RemoteStart"
                                            : type == "Ended" ? "RemoteStop"
                                                              : "MeterValuePeriodic"},
                          {"seqNo", seq},
                          {"transactionInfo", info},
                          {"meterValue", {{{"timestamp", timestamp}, {"sampledValue", samples}}}}};
  if (type == "Started") {
    event["evse"] = {{"id", 1}, {"connectorId", 1}};
    event["idToken"] = {{"idToken", "user_123"}, {"type", "Central"}};
  }
  return event;
}

// The seed C# simulator's TransactionEvent body.
inline nlohmann::json SeedTxEvent(const std::string& type, const std::string& tx,
                                  const std::string& timestamp, std::optional<double> energy_wh,
                                  std::optional<double> power_w = std::nullopt) {
  nlohmann::json data = {{"transactionId", tx}};
  nlohmann::json dimensions = nlohmann::json::array();
  if (energy_wh) {
    dimensions.push_back({{"name", "Energy.Active.Import.Register"}, {"value", *energy_wh}});
  }
  if (power_w) dimensions.push_back({{"name", "Power.Active.Import"}, {"value", *power_w}});
  if (!dimensions.empty()) data["chargingPeriods"] = {{{"dimensions", dimensions}}};
  if (type == "Ended") {
    data["stoppedReason"] = "Remote";
    data["totalCost"] = 9999;  // what the station thinks; the CSMS bills from its own tariff
  }
  return {{"eventType", type}, {"timestamp", timestamp}, {"transactionData", data}};
}

}  // namespace csms::testing
