#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/control/v1/control.pb.h"
#include "csms/ocpp/v201/request_start_transaction.h"
#include "csms/ocpp/v201/request_stop_transaction.h"
#include "csms/ocpp/v201/set_charging_profile.h"

// Pure decisions and OCPP payload builders: no I/O, so they are unit-tested directly.
namespace csms::control {

struct ChargerCredentials;  // credential_store.h

// What GetCharger's `status` is derived from.
struct StatusInputs {
  bool connected = false;
  bool has_active_transaction = false;
  std::string charging_state;                   // of the active transaction; "" or Idle = none
  std::vector<std::string> connector_statuses;  // one per reported connector
};

// Offline, else the active transaction's charging state, else the most telling connector status
// (Faulted > Occupied > Reserved > Unavailable > Available), else "Unknown".
std::string DeriveChargerStatus(const StatusInputs& in);

// A transaction that has not ended, as the charger's live view shows it.
struct LiveTransaction {
  std::string transaction_id;
  int evse_id = 0;
  std::string charging_state;
  double power_w = 0;
  double energy_kwh = 0;
};

// One EVSE of a charger as an operator sees it: its status (DeriveChargerStatus over its own
// connectors and transaction) and the transaction running on it.
struct EvseView {
  int evse_id = 0;
  std::string status;
  std::string transaction_id;  // "" when none
  double power_w = 0;
  double energy_kwh = 0;
};

// Every EVSE a connector report or a live transaction names (EVSE 0, the whole charger, is not
// one), by id. `live` is newest first: an EVSE with two unended transactions (one never ended)
// shows the newest. A transaction that names no EVSE (the seed dialect's) runs on the charger's
// only EVSE when it has one; with several it shows only in the charger's own fields.
// `connector_evses[i]` is the EVSE of `connector_statuses[i]`.
std::vector<EvseView> DeriveEvseViews(bool connected, const std::vector<int>& connector_evses,
                                      const std::vector<std::string>& connector_statuses,
                                      const std::vector<LiveTransaction>& live);

// The registration decision for a BootNotification. Every charger is accepted for now; Pending
// and Rejected (for unknown or blocked chargers) belong here when they come.
struct BootDecision {
  std::string status;
  int interval_seconds = 0;
};
BootDecision DecideBoot(std::string_view charger_id, int heartbeat_interval_seconds);

// Whether a TransactionEvent changes a transaction's live figures. Ended always does (it carries
// the final figures); any other event only while the transaction has not ended and when it is not
// older than the newest one applied, so an Updated arriving after Ended cannot revive it.
bool EventApplies(bool event_is_ended, bool transaction_ended, int64_t order_key,
                  int64_t last_applied_order_key);

// OCPP identifiers are case-insensitive strings of at most 36 characters (IdTokenType.idToken,
// transactionId).
inline constexpr size_t kMaxOcppIdLength = 36;

// The station-wide maximum profile always uses this id, so a new limit replaces the old one
// (K01.FR.05) instead of stacking a second profile.
inline constexpr int kStationMaxProfileId = 1;
inline constexpr const char* kStationMaxProfilePurpose = "ChargingStationMaxProfile";

// kW to W, rounded to 0.1 W so 7.4 kW is sent as 7400 and not 7400.000000000001.
double KilowattsToWatts(double kw);

ocpp::v201::RequestStartTransactionRequest BuildRequestStartTransaction(std::string_view id_token,
                                                                        int32_t remote_start_id,
                                                                        int evse_id);
ocpp::v201::RequestStopTransactionRequest BuildRequestStopTransaction(
    std::string_view transaction_id);
// ChargingStationMaxProfile on EVSE 0, Absolute from `now`, one period with the limit in W.
ocpp::v201::SetChargingProfileRequest BuildStationMaxProfile(double limit_w, TimePoint now);

// Why a charger refused: statusInfo's reasonCode and additionalInfo, "" if absent.
std::string RefusalReason(const std::optional<ocpp::v201::StatusInfo>& info);

// What a BootNotification says the charger is.
struct BootFacts {
  std::string vendor, model, serial_number, firmware_version;
};
// Why the charger's device model is fetched after this boot (B07): "new" (never booted before),
// "firmware_changed", "hardware_changed" (vendor, model or serial), "never_completed" (no
// complete FullInventory yet); "" when it is not (not Accepted, or nothing changed).
std::string DeviceModelFetchReason(bool booted_before, const BootFacts& before,
                                   const BootFacts& now, const std::string& boot_status,
                                   bool has_complete_model);

// Whether a charger may open its WebSocket (AuthenticateStation). A provisioned charger is never
// admitted with less than its security profile (OCPP 2.0.1 A00.FR.002/.005):
//   0: always;
//   1: HTTP Basic with the right password, on either port (TLS is not weaker);
//   2: the TLS port and HTTP Basic with the right password;
//   3: the TLS port and a client certificate (chain verified by the gateway) whose CN is the
//      charger id; Basic credentials, if any, are ignored.
// An unknown charger (`credentials` null) is not provisioned and allowed: the gateway's policy
// decides. `check_password` is only called for profiles 1 and 2, after the transport checks.
struct StationAuthDecision {
  bool provisioned = false;
  int security_profile = 0;
  bool allowed = false;
  std::string reason;  // why not, for the logs; never the password
};
using PasswordCheck = std::function<bool(std::string_view password, std::string_view stored)>;
StationAuthDecision DecideStationAuth(const ChargerCredentials* credentials,
                                      const v1::AuthenticateStationRequest& request,
                                      const PasswordCheck& check_password);

}  // namespace csms::control
