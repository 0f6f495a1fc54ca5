#include "csms/control/decisions.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace csms::control {
namespace {
// A charger's answer is outside our control: a field of the wrong type reads as absent.
std::string StringField(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

std::string DeriveChargerStatus(const StatusInputs& in) {
  if (!in.connected) return "Offline";
  if (in.has_active_transaction && !in.charging_state.empty() && in.charging_state != "Idle") {
    return in.charging_state;
  }
  // Most severe first: one faulted connector is what an operator must see.
  static constexpr std::array<std::string_view, 5> kPrecedence = {"Faulted", "Occupied", "Reserved",
                                                                  "Unavailable", "Available"};
  for (std::string_view candidate : kPrecedence) {
    if (std::find(in.connector_statuses.begin(), in.connector_statuses.end(), candidate) !=
        in.connector_statuses.end()) {
      return std::string(candidate);
    }
  }
  return "Unknown";
}

BootDecision DecideBoot(std::string_view /*charger_id*/, int heartbeat_interval_seconds) {
  return {"Accepted", heartbeat_interval_seconds};
}

bool EventApplies(bool event_is_ended, bool transaction_ended, int64_t order_key,
                  int64_t last_applied_order_key) {
  if (event_is_ended) return true;
  return !transaction_ended && order_key >= last_applied_order_key;
}

double KilowattsToWatts(double kw) { return std::round(kw * 1e4) / 10.0; }

nlohmann::json BuildRequestStartTransaction(std::string_view id_token, long long remote_start_id,
                                            int evse_id) {
  return {{"idToken", {{"idToken", id_token}, {"type", "Central"}}},
          {"remoteStartId", remote_start_id},
          {"evseId", evse_id}};
}

nlohmann::json BuildRequestStopTransaction(std::string_view transaction_id) {
  return {{"transactionId", transaction_id}};
}

nlohmann::json BuildStationMaxProfile(double limit_w, TimePoint now) {
  // Absolute profiles need startSchedule (K01.FR.40); a Max profile may not be Relative.
  std::string start = FormatRfc3339(now);
  nlohmann::json schedule = {{"id", 1},
                             {"startSchedule", start},
                             {"chargingRateUnit", "W"},
                             {"chargingSchedulePeriod",
                              nlohmann::json::array({{{"startPeriod", 0}, {"limit", limit_w}}})}};
  return {{"evseId", 0},
          {"chargingProfile",
           {{"id", kStationMaxProfileId},
            {"stackLevel", 0},
            {"chargingProfilePurpose", kStationMaxProfilePurpose},
            {"chargingProfileKind", "Absolute"},
            {"chargingSchedule", nlohmann::json::array({schedule})}}}};
}

CommandAnswer ReadCommandAnswer(const nlohmann::json& result) {
  CommandAnswer answer;
  if (!result.is_object()) return answer;
  answer.status = StringField(result, "status");
  answer.accepted = answer.status == "Accepted";
  if (auto it = result.find("statusInfo"); it != result.end() && it->is_object()) {
    answer.reason = StringField(*it, "reasonCode");
    std::string info = StringField(*it, "additionalInfo");
    if (!info.empty()) answer.reason += answer.reason.empty() ? info : ": " + info;
  }
  answer.transaction_id = StringField(result, "transactionId");
  return answer;
}

}  // namespace csms::control
