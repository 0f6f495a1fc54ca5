#include "csms/control/decisions.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "csms/control/credential_store.h"

namespace csms::control {
namespace {
// Text from the network, fit for a reason string: printable ASCII other than ' and \ as is,
// every other byte as \xNN (so a cut never splits a UTF-8 sequence), at most `max_len` bytes.
std::string EscapeForReason(std::string_view text, size_t max_len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
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

std::vector<EvseView> DeriveEvseViews(bool connected, const std::vector<int>& connector_evses,
                                      const std::vector<std::string>& connector_statuses,
                                      const std::vector<LiveTransaction>& live) {
  std::map<int, StatusInputs> inputs;
  std::map<int, const LiveTransaction*> running;
  for (size_t i = 0; i < connector_evses.size() && i < connector_statuses.size(); ++i) {
    if (connector_evses[i] > 0) {
      inputs[connector_evses[i]].connector_statuses.push_back(connector_statuses[i]);
    }
  }
  for (const LiveTransaction& t : live) {
    if (t.evse_id > 0) inputs[t.evse_id];
  }
  for (const LiveTransaction& t : live) {
    const int evse = t.evse_id > 0 ? t.evse_id : inputs.size() == 1 ? inputs.begin()->first : 0;
    if (evse > 0) running.try_emplace(evse, &t);  // the first is the newest
  }
  std::vector<EvseView> views;
  for (auto& [evse_id, in] : inputs) {
    EvseView view;
    view.evse_id = evse_id;
    in.connected = connected;
    if (auto it = running.find(evse_id); it != running.end()) {
      in.has_active_transaction = true;
      in.charging_state = it->second->charging_state;
      view.transaction_id = it->second->transaction_id;
      view.power_w = it->second->power_w;
      view.energy_kwh = it->second->energy_kwh;
    }
    view.status = DeriveChargerStatus(in);
    views.push_back(std::move(view));
  }
  return views;
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

namespace v201 = ocpp::v201;

v201::RequestStartTransactionRequest BuildRequestStartTransaction(std::string_view id_token,
                                                                  int32_t remote_start_id,
                                                                  int evse_id) {
  v201::RequestStartTransactionRequest request;
  request.id_token.id_token = std::string(id_token);
  request.id_token.type = v201::IdTokenEnum::kCentral;
  request.remote_start_id = remote_start_id;
  request.evse_id = evse_id;
  return request;
}

v201::RequestStopTransactionRequest BuildRequestStopTransaction(std::string_view transaction_id) {
  v201::RequestStopTransactionRequest request;
  request.transaction_id = std::string(transaction_id);
  return request;
}

v201::SetChargingProfileRequest BuildStationMaxProfile(double limit_w, TimePoint now) {
  // Absolute profiles need startSchedule (K01.FR.40); a Max profile may not be Relative.
  v201::ChargingSchedule schedule;
  schedule.id = 1;
  schedule.start_schedule = FormatRfc3339(now);
  schedule.charging_rate_unit = v201::ChargingRateUnitEnum::kW;
  v201::ChargingSchedulePeriod period;
  period.start_period = 0;
  period.limit = limit_w;
  schedule.charging_schedule_period.push_back(period);
  v201::SetChargingProfileRequest request;
  request.evse_id = 0;
  request.charging_profile.id = kStationMaxProfileId;
  request.charging_profile.stack_level = 0;
  request.charging_profile.charging_profile_purpose =
      v201::ChargingProfilePurposeEnum::kChargingStationMaxProfile;
  request.charging_profile.charging_profile_kind = v201::ChargingProfileKindEnum::kAbsolute;
  request.charging_profile.charging_schedule.push_back(std::move(schedule));
  return request;
}

std::string RefusalReason(const std::optional<v201::StatusInfo>& info) {
  if (!info) return "";
  std::string reason = info->reason_code;
  const std::string extra = info->additional_info.value_or("");
  if (!extra.empty()) reason += reason.empty() ? extra : ": " + extra;
  return reason;
}

std::string DeviceModelFetchReason(bool booted_before, const BootFacts& before,
                                   const BootFacts& now, const std::string& boot_status,
                                   bool has_complete_model) {
  if (boot_status != "Accepted") return "";
  if (!booted_before) return "new";
  if (before.firmware_version != now.firmware_version) return "firmware_changed";
  if (before.vendor != now.vendor || before.model != now.model ||
      before.serial_number != now.serial_number) {
    return "hardware_changed";
  }
  return has_complete_model ? "" : "never_completed";
}

StationAuthDecision DecideStationAuth(const ChargerCredentials* credentials,
                                      const v1::AuthenticateStationRequest& request,
                                      const PasswordCheck& check_password) {
  StationAuthDecision d;
  if (credentials == nullptr) {
    d.allowed = true;
    return d;
  }
  d.provisioned = true;
  d.security_profile = credentials->security_profile;
  const std::string profile = "security profile " + std::to_string(d.security_profile);
  switch (d.security_profile) {
    case 0:
      d.allowed = true;
      return d;
    case 1:
    case 2:
      if (d.security_profile == 2 && !request.tls()) {
        d.reason = profile + " requires TLS (wss://); refused on the unencrypted port";
      } else if (!request.has_password()) {
        d.reason = profile + " requires HTTP Basic authentication";
      } else if (credentials->password_hash.empty()) {
        d.reason = "no password is provisioned for this charger";
      } else if (!check_password(request.password(), credentials->password_hash) &&
                 // A01: the password before a rotation, while its grace period lasts.
                 (credentials->previous_password_hash.empty() ||
                  !check_password(request.password(), credentials->previous_password_hash))) {
        d.reason = "wrong password";
      } else {
        d.allowed = true;
      }
      return d;
    case 3:
      if (!request.tls()) {
        d.reason = profile + " requires TLS (wss://); refused on the unencrypted port";
      } else if (request.client_certificate_cn().empty()) {
        d.reason = profile + " requires a client certificate";
      } else if (request.client_certificate_cn() != request.charger_id()) {
        d.reason = "client certificate CN '" +
                   EscapeForReason(request.client_certificate_cn(), 64) +
                   "' is not this station's identity";
      } else {
        d.allowed = true;
      }
      return d;
    default:
      d.reason = "unknown " + profile;  // a row the API would not have written
      return d;
  }
}

}  // namespace csms::control
