#include "csms/charger_sim/charger.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "charger_internal.h"
#include "csms/common/log.h"
#include "csms/common/ocpp_actions.h"

namespace csms::sim {
namespace {

using internal::FieldProblem;
using internal::Find;
using internal::kLog;
using internal::RequireField;
using nlohmann::json;
namespace ec = ocpp::error_code;

constexpr double kVoltsPerPhase = 230.0;  // nominal AC voltage for limits given in A

std::optional<FieldProblem> OptionalInt(const json& object, const char* key) {
  const json* value = Find(object, key);
  if (value != nullptr && !value->is_number_integer()) {
    return FieldProblem{ec::kTypeConstraintViolation, std::string(key) + " must be an integer"};
  }
  return std::nullopt;
}

json Rejected(std::string_view reason_code, std::string_view info) {
  return {{"status", "Rejected"},
          {"statusInfo", {{"reasonCode", reason_code}, {"additionalInfo", info}}}};
}

// Reads the power limit of a profile's first schedule period, in W. False with a reason.
bool ProfileLimitW(const json& profile, double* limit_w, std::string* reason) {
  const json* schedules = Find(profile, "chargingSchedule");
  if (schedules == nullptr || !schedules->is_array() || schedules->empty() ||
      !(*schedules)[0].is_object()) {
    *reason = "chargingSchedule must be a non-empty array";
    return false;
  }
  const json& schedule = (*schedules)[0];
  const json* unit = Find(schedule, "chargingRateUnit");
  if (unit == nullptr || !unit->is_string() || (*unit != "W" && *unit != "A")) {
    *reason = "chargingRateUnit must be W or A";
    return false;
  }
  const json* periods = Find(schedule, "chargingSchedulePeriod");
  if (periods == nullptr || !periods->is_array() || periods->empty() ||
      !(*periods)[0].is_object()) {
    *reason = "chargingSchedulePeriod must be a non-empty array";
    return false;
  }
  const json& period = (*periods)[0];
  const json* limit = Find(period, "limit");
  if (limit == nullptr || !limit->is_number() || limit->get<double>() < 0) {
    *reason = "chargingSchedulePeriod[0].limit must be a number >= 0";
    return false;
  }
  double value = limit->get<double>();
  if (*unit == "A") {
    int phases = 3;  // K01.FR.49: absent means 3 on AC
    if (const json* n = Find(period, "numberPhases"); n != nullptr && n->is_number_integer()) {
      phases = std::clamp(n->get<int>(), 1, 3);
    }
    value *= kVoltsPerPhase * phases;
  }
  *limit_w = value;
  return true;
}

const char* ReadingContext(std::string_view event_type, std::string_view trigger_reason) {
  if (event_type == "Started") return "Transaction.Begin";
  if (event_type == "Ended") return "Transaction.End";
  if (trigger_reason == "MeterValuePeriodic") return "Sample.Periodic";
  if (trigger_reason == "Trigger") return "Trigger";
  return "Other";
}

std::string FormatKw(double watts) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f kW", watts / 1000.0);
  return buf;
}

// A01: SecurityCtrlr holds BasicAuthPassword; OCPP names are case-insensitive.
constexpr std::string_view kSecurityCtrlr = "SecurityCtrlr";

// `object.part.name` when all of it is there with a string name; json::value() would throw on
// a name of another type, and this runs before the request is checked.
std::string_view NameOf(const json& object, const char* part) {
  const json* inner = object.is_object() ? Find(object, part) : nullptr;
  const json* name = inner != nullptr && inner->is_object() ? Find(*inner, "name") : nullptr;
  return name != nullptr && name->is_string() ? name->get_ref<const std::string&>()
                                              : std::string_view();
}

// SetVariables for the debug log, with the values of SecurityCtrlr (where the password is) and of
// entries too broken to tell masked.
std::string RedactedForLog(const ocpp::Frame& frame) {
  json payload = frame.payload;
  if (json* list = payload.is_object() && payload.contains("setVariableData")
                       ? &payload["setVariableData"]
                       : nullptr;
      list != nullptr && list->is_array()) {
    for (json& data : *list) {
      const std::string_view component = NameOf(data, "component");
      if ((component.empty() || EqualsIgnoreCase(component, kSecurityCtrlr)) &&
          data.contains("attributeValue")) {
        data["attributeValue"] = "***";
      }
    }
  }
  return json::array({2, frame.message_id, frame.action, payload}).dump();
}

std::string FormatKwh(double wh) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f kWh", wh / 1000.0);
  return buf;
}

}  // namespace

std::optional<Dialect> ParseDialect(std::string_view name) {
  if (name == "standard") return Dialect::kStandard;
  if (name == "seed") return Dialect::kSeed;
  return std::nullopt;
}

const char* DialectName(Dialect dialect) { return dialect == Dialect::kSeed ? "seed" : "standard"; }

std::optional<ReportOrder> ParseReportOrder(std::string_view name) {
  if (name == "normal") return ReportOrder::kNormal;
  if (name == "reverse") return ReportOrder::kReverse;
  return std::nullopt;
}

Charger::Charger(ChargerOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      rng_(options_.random_seed != 0 ? options_.random_seed : std::random_device{}()) {
  // A random prefix per process keeps message ids unique across reconnects and restarts.
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%08x", static_cast<unsigned>(rng_() & 0xffffffffu));
  message_id_prefix_ = prefix;
  energy_wh_ = options_.meter_start_wh;
  BuildDeviceModel();
}

std::string Charger::Tag() const { return "[" + options_.station_id + "] "; }

double Charger::current_power_w() const {
  if (!tx_) return 0;
  double power = options_.max_power_w;
  if (auto limit = EffectiveLimitW()) power = std::min(power, *limit);
  return std::max(0.0, power);
}

const char* Charger::connector_status() const {
  if (tx_) return "Occupied";
  return connector_operative() ? "Available" : "Unavailable";
}

std::optional<double> Charger::EffectiveLimitW() const {
  std::optional<double> limit = station_max_limit_w_;
  // A TxProfile replaces the TxDefaultProfile while its transaction runs.
  std::optional<double> tx_limit = tx_limit_w_ ? tx_limit_w_ : tx_default_limit_w_;
  if (tx_limit) limit = limit ? std::min(*limit, *tx_limit) : *tx_limit;
  return limit;
}

// ---- Transport events ----------------------------------------------------------------------

void Charger::OnConnected() {
  connected_ = true;
  const TimePoint now = clock_.Now();
  if (boot_state_ == BootState::kAccepted) {
    // OCPP 2.0.1 Part 4: no new BootNotification after a reconnect; report the connector instead,
    // ahead of any queued transaction events.
    CSMS_LOG(kInfo, kLog) << Tag() << "reconnected; boot already accepted, " << queue_.size()
                          << " message(s) queued";
    EnqueueStatus(/*front=*/true);
    if (heartbeat_interval_.count() > 0) next_heartbeat_at_ = now + heartbeat_interval_;
  } else if (!boot_retry_at_ && !IsQueued("BootNotification")) {
    EnqueueBoot(boot_reason_);
  }
  Pump();
}

void Charger::OnDisconnected() {
  reconnect_pending_ = false;
  if (!connected_) return;
  connected_ = false;
  if (in_flight_) {
    // A transaction event without an answer must still reach the CSMS: send it again later.
    if (in_flight_->call.is_transaction_event) queue_.push_front(std::move(in_flight_->call));
    in_flight_.reset();
  }
  // Heartbeats and statuses are stale after a reconnect; only transaction events are kept.
  std::erase_if(queue_, [](const QueuedCall& c) { return !c.is_transaction_event; });
  if (options_.dialect == Dialect::kStandard) {
    for (auto& call : queue_) call.payload["offline"] = true;  // E04: still queued = offline
  }
  next_heartbeat_at_.reset();
  CSMS_LOG(kInfo, kLog) << Tag() << "disconnected; " << queue_.size()
                        << " transaction event(s) kept for resending";
  // The close of an accepted Reset, or a connection lost while the last events were going out.
  if (rebooting_ || reboot_draining_) CompleteReboot();
}

void Charger::OnMessage(std::string_view text) {
  ocpp::ParseResult parsed = ocpp::ParseFrame(text);
  const ocpp::Frame* call = std::get_if<ocpp::Frame>(&parsed);
  if (call != nullptr && call->type == ocpp::MessageType::kCall && call->action == "SetVariables") {
    // Never log a password, not even at debug level.
    CSMS_LOG(kDebug, kLog) << Tag() << "<< " << log::Sanitize(RedactedForLog(*call), 2048);
  } else {
    CSMS_LOG(kDebug, kLog) << Tag() << "<< " << log::Sanitize(text, 2048);
  }
  if (auto* error = std::get_if<ocpp::FrameError>(&parsed)) {
    CSMS_LOG(kWarn, kLog) << Tag() << "bad frame from CSMS: " << error->description;
    if (error->should_reply) ReplyError(error->message_id, error->code, error->description);
    return;
  }
  const ocpp::Frame& frame = std::get<ocpp::Frame>(parsed);
  switch (frame.type) {
    case ocpp::MessageType::kCall:
      HandleCall(frame);
      break;
    case ocpp::MessageType::kCallResult:
      HandleCallResult(frame);
      break;
    case ocpp::MessageType::kCallError:
      HandleCallError(frame);
      break;
  }
  Pump();
}

void Charger::OnTimer() {
  const TimePoint now = clock_.Now();
  if (in_flight_ && in_flight_->deadline <= now) {
    QueuedCall call = std::move(in_flight_->call);
    in_flight_.reset();
    HandleCallFailure(std::move(call),
                      "no answer within " + std::to_string(options_.call_timeout.count()) + " s");
  }
  if (boot_retry_at_ && *boot_retry_at_ <= now) {
    boot_retry_at_.reset();
    if (connected_ && !IsQueued("BootNotification")) EnqueueBoot(boot_reason_);
  }
  if (next_heartbeat_at_ && *next_heartbeat_at_ <= now) {
    next_heartbeat_at_ = now + heartbeat_interval_;
    bool heartbeat_pending =
        IsQueued("Heartbeat") || (in_flight_ && in_flight_->call.action == "Heartbeat");
    if (!heartbeat_pending) Enqueue("Heartbeat", json::object());
  }
  StepFirmware(now);
  StepLogUpload(now);
  if (tx_ && options_.meter_interval.count() > 0 && tx_->next_meter_at <= now) {
    EnqueueTransactionEvent("Updated", "MeterValuePeriodic");
    tx_->next_meter_at += options_.meter_interval;
    if (tx_->next_meter_at <= now) tx_->next_meter_at = now + options_.meter_interval;
  }
  Pump();
}

std::optional<TimePoint> Charger::NextDeadline() const {
  std::optional<TimePoint> next;
  auto consider = [&next](std::optional<TimePoint> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (in_flight_) consider(in_flight_->deadline);
  consider(boot_retry_at_);
  consider(next_heartbeat_at_);
  if (tx_ && options_.meter_interval.count() > 0) consider(tx_->next_meter_at);
  if (firmware_ && connected_ && boot_state_ == BootState::kAccepted && !rebooting_ &&
      !reboot_draining_) {
    consider(firmware_->next_at);
  }
  if (log_upload_) consider(log_upload_->next_attempt);
  if (connected_ && !in_flight_) {
    // Only future retry times: anything sendable now was sent by Pump() already.
    const TimePoint now = clock_.Now();
    for (const auto& call : queue_) {
      if (call.not_before && *call.not_before > now) consider(call.not_before);
    }
  }
  return next;
}

std::vector<std::string> Charger::TakeOutgoing() {
  std::vector<std::string> out;
  out.swap(outbox_);
  return out;
}

std::optional<std::string> Charger::TakeNewPassword() {
  std::optional<std::string> password;
  password.swap(new_password_);
  return password;
}

bool Charger::TakeReboot() {
  const bool requested = reboot_requested_;
  reboot_requested_ = false;
  return requested;
}

// ---- Incoming frames -----------------------------------------------------------------------

void Charger::HandleCall(const ocpp::Frame& frame) {
  // B03.FR.08: a rejected station answers every CSMS CALL with SecurityError.
  if (boot_state_ == BootState::kRejected) {
    ReplyError(frame.message_id, ec::kSecurityError, "charging station is not accepted");
    return;
  }
  const std::string& action = frame.action;
  if (action == "RequestStartTransaction") {
    OnRequestStartTransaction(frame);
  } else if (action == "RequestStopTransaction") {
    OnRequestStopTransaction(frame);
  } else if (action == "SetChargingProfile") {
    OnSetChargingProfile(frame);
  } else if (action == "GetVariables") {
    OnGetVariables(frame);
  } else if (action == "SetVariables") {
    OnSetVariables(frame);
  } else if (action == "Reset") {
    OnReset(frame);
  } else if (action == "GetBaseReport") {
    OnGetBaseReport(frame);
  } else if (action == "GetReport") {
    OnGetReport(frame);
  } else if (action == "ChangeAvailability") {
    OnChangeAvailability(frame);
  } else if (action == "UnlockConnector") {
    OnUnlockConnector(frame);
  } else if (action == "TriggerMessage") {
    OnTriggerMessage(frame);
  } else if (action == "GetTransactionStatus") {
    OnGetTransactionStatus(frame);
  } else if (action == "ClearCache") {
    OnClearCache(frame);
  } else if (action == "DataTransfer") {
    OnDataTransfer(frame);
  } else if (action == "CostUpdated") {
    OnCostUpdated(frame);
  } else if (action == "UpdateFirmware") {
    OnUpdateFirmware(frame);
  } else if (action == "GetLog") {
    OnGetLog(frame);
  } else if (ocpp::IsOcpp201Action(action)) {
    ReplyError(frame.message_id, ec::kNotSupported, action + " is not supported by this simulator");
  } else {
    ReplyError(frame.message_id, ec::kNotImplemented, "unknown action " + action);
  }
}

void Charger::HandleCallResult(const ocpp::Frame& frame) {
  if (!in_flight_ || in_flight_->message_id != frame.message_id) {
    // A late or unknown reply: log and drop, never answer it (DIGEST 2.6 rule 8).
    CSMS_LOG(kWarn, kLog) << Tag() << "dropping CALLRESULT for unknown message id "
                          << frame.message_id;
    return;
  }
  QueuedCall call = std::move(in_flight_->call);
  in_flight_.reset();
  if (call.action == "BootNotification") {
    OnBootResponse(frame.payload);
  } else if (call.action == "TransactionEvent") {
    const std::string event_type = call.payload.value("eventType", "");
    if (event_type == "Ended") {
      const json* cost = Find(frame.payload, "totalCost");
      CSMS_LOG(kInfo, kLog) << Tag() << "CSMS confirmed transaction end"
                            << (cost != nullptr ? ", totalCost " + cost->dump() : std::string());
    }
  }
}

void Charger::HandleCallError(const ocpp::Frame& frame) {
  if (!in_flight_ || in_flight_->message_id != frame.message_id) {
    CSMS_LOG(kWarn, kLog) << Tag() << "dropping CALLERROR for unknown message id "
                          << frame.message_id;
    return;
  }
  QueuedCall call = std::move(in_flight_->call);
  in_flight_.reset();
  HandleCallFailure(std::move(call),
                    "CALLERROR " + frame.error_code + ": " + frame.error_description);
}

void Charger::HandleCallFailure(QueuedCall call, const std::string& why) {
  const TimePoint now = clock_.Now();
  if (call.is_transaction_event) {
    // E13: resend after interval x transmissions so far, up to the attempt limit, then discard.
    if (call.attempts < options_.tx_message_attempts) {
      call.not_before = now + options_.tx_retry_interval * call.attempts;
      CSMS_LOG(kWarn, kLog) << Tag() << "TransactionEvent failed (" << why << "); retry in "
                            << (options_.tx_retry_interval * call.attempts).count() << " s";
      queue_.push_front(std::move(call));
    } else {
      CSMS_LOG(kError, kLog) << Tag() << "TransactionEvent discarded after " << call.attempts
                             << " attempts (" << why << ")";
    }
  } else if (call.action == "BootNotification") {
    boot_retry_at_ = now + options_.boot_retry_default;
    CSMS_LOG(kWarn, kLog) << Tag() << "BootNotification failed (" << why << "); retry in "
                          << options_.boot_retry_default.count() << " s";
  } else {
    CSMS_LOG(kWarn, kLog) << Tag() << call.action << " failed (" << why << ")";
  }
}

void Charger::OnBootResponse(const json& payload) {
  const TimePoint now = clock_.Now();
  const std::string status = payload.value("status", "");
  const json* interval_field = Find(payload, "interval");
  const int interval = interval_field != nullptr && interval_field->is_number_integer()
                           ? interval_field->get<int>()
                           : 0;
  if (status == "Accepted") {
    boot_state_ = BootState::kAccepted;
    boot_retry_at_.reset();
    if (interval > 0) heartbeat_interval_ = std::chrono::seconds(interval);  // B01.FR.04
    if (heartbeat_interval_.count() > 0) next_heartbeat_at_ = now + heartbeat_interval_;
    CSMS_LOG(kInfo, kLog) << Tag() << "boot accepted; heartbeat every "
                          << heartbeat_interval_.count() << " s";
    EnqueueStatus();
    return;
  }
  auto wait = interval > 0 ? std::chrono::seconds(interval) : options_.boot_retry_default;
  if (status == "Pending" || status == "Rejected") {
    boot_state_ = status == "Pending" ? BootState::kPending : BootState::kRejected;
    CSMS_LOG(kWarn, kLog) << Tag() << "boot " << status << "; next BootNotification in "
                          << wait.count() << " s";
  } else {
    CSMS_LOG(kWarn, kLog) << Tag() << "BootNotification answer without a valid status; retry in "
                          << wait.count() << " s";
  }
  boot_retry_at_ = now + wait;
}

// ---- Server CALLs ----------------------------------------------------------------------------

void Charger::OnRequestStartTransaction(const ocpp::Frame& frame) {
  const json& p = frame.payload;
  if (auto problem = RequireField(p, "idToken", json::value_t::object, "an object")) {
    return ReplyError(frame.message_id, problem->code, problem->description);
  }
  const json& id_token = p["idToken"];
  for (const char* key : {"idToken", "type"}) {
    if (auto problem = RequireField(id_token, key, json::value_t::string, "a string")) {
      return ReplyError(frame.message_id, problem->code, "idToken." + problem->description);
    }
  }
  // remoteStartId is required by the schema, but the seed's server never sent one: accept both.
  for (const char* key : {"remoteStartId", "evseId"}) {
    if (auto problem = OptionalInt(p, key)) {
      return ReplyError(frame.message_id, problem->code, problem->description);
    }
  }
  if (boot_state_ != BootState::kAccepted) {  // B02.FR.05
    return Reply(frame.message_id, Rejected("NotAccepted", "station is not accepted yet"));
  }
  if (tx_) {
    CSMS_LOG(kInfo, kLog) << Tag() << "RequestStartTransaction rejected: transaction " << tx_->id
                          << " is active";
    return Reply(frame.message_id, {{"status", "Rejected"}, {"transactionId", tx_->id}});
  }
  if (const json* evse = Find(p, "evseId"); evse != nullptr && evse->get<int>() != 1) {
    return Reply(frame.message_id, Rejected("UnknownEvse", "this station has EVSE 1 only"));
  }
  if (reboot_draining_ || rebooting_) {
    return Reply(frame.message_id, Rejected("Rebooting", "the station is about to reboot"));
  }
  if (!connector_operative()) {  // G03/G04: made Inoperative by ChangeAvailability
    CSMS_LOG(kInfo, kLog) << Tag() << "RequestStartTransaction rejected: connector Unavailable";
    return Reply(frame.message_id, Rejected("Unavailable", "the connector is Unavailable"));
  }
  std::optional<double> tx_limit;
  if (const json* profile = Find(p, "chargingProfile")) {
    // F01.FR.09/11: only a TxProfile without a transactionId belongs here.
    double limit = 0;
    std::string reason;
    if (!profile->is_object() || profile->value("chargingProfilePurpose", "") != "TxProfile" ||
        profile->contains("transactionId")) {
      return Reply(frame.message_id, Rejected("InvalidProfile",
                                              "chargingProfile must be a TxProfile without "
                                              "transactionId"));
    }
    if (!ProfileLimitW(*profile, &limit, &reason)) {
      return Reply(frame.message_id, Rejected("InvalidSchedule", reason));
    }
    tx_limit = limit;
  }
  std::optional<int> remote_start_id;
  if (const json* id = Find(p, "remoteStartId")) remote_start_id = id->get<int>();
  Reply(frame.message_id, {{"status", "Accepted"}});
  tx_limit_w_ = tx_limit;
  StartTransaction(id_token, remote_start_id);
}

void Charger::OnRequestStopTransaction(const ocpp::Frame& frame) {
  if (auto problem =
          RequireField(frame.payload, "transactionId", json::value_t::string, "a string")) {
    return ReplyError(frame.message_id, problem->code, problem->description);
  }
  const std::string id = frame.payload["transactionId"].get<std::string>();
  if (!tx_ || tx_->id != id) {  // F03.FR.08
    CSMS_LOG(kInfo, kLog) << Tag() << "RequestStopTransaction rejected: unknown transaction "
                          << log::Sanitize(id, 64);
    return Reply(frame.message_id, {{"status", "Rejected"}});
  }
  Reply(frame.message_id, {{"status", "Accepted"}});
  EndTransaction("RemoteStop", "Remote");
}

void Charger::OnSetChargingProfile(const ocpp::Frame& frame) {
  const json& p = frame.payload;
  if (auto problem = RequireField(p, "evseId", json::value_t::number_integer, "an integer")) {
    return ReplyError(frame.message_id, problem->code, problem->description);
  }
  if (auto problem = RequireField(p, "chargingProfile", json::value_t::object, "an object")) {
    return ReplyError(frame.message_id, problem->code, problem->description);
  }
  const int evse_id = p["evseId"].get<int>();
  const json& profile = p["chargingProfile"];
  const std::string purpose = profile.value("chargingProfilePurpose", "");
  if (evse_id != 0 && evse_id != 1) {
    return Reply(frame.message_id, Rejected("UnknownEvse", "this station has EVSE 1 only"));
  }
  double limit_w = 0;
  std::string reason;
  if (!ProfileLimitW(profile, &limit_w, &reason)) {
    return Reply(frame.message_id, Rejected("InvalidSchedule", reason));
  }
  std::optional<double>* slot = nullptr;
  if (purpose == "ChargingStationMaxProfile") {
    if (evse_id != 0 || profile.value("chargingProfileKind", "") == "Relative") {  // K01.FR.38
      return Reply(frame.message_id, Rejected("InvalidProfile",
                                              "ChargingStationMaxProfile needs evseId 0 and a "
                                              "kind other than Relative"));
    }
    slot = &station_max_limit_w_;
  } else if (purpose == "TxDefaultProfile") {
    slot = &tx_default_limit_w_;
  } else if (purpose == "TxProfile") {
    const json* tx_id = Find(profile, "transactionId");
    if (evse_id != 1 || !tx_ || tx_id == nullptr || !tx_id->is_string() || *tx_id != tx_->id) {
      return Reply(frame.message_id,  // K01.FR.09/16/33
                   Rejected("TxNotFound", "TxProfile needs evseId 1 and the active transaction"));
    }
    slot = &tx_limit_w_;
  } else {
    // K01.FR.22: ChargingStationExternalConstraints is never set by a CSMS.
    return Reply(frame.message_id,
                 Rejected("InvalidProfile", "unsupported chargingProfilePurpose '" +
                                                log::Sanitize(purpose, 64) + "'"));
  }
  // Energy up to now was delivered at the old power.
  if (tx_) Integrate(clock_.Now());
  const double old_power = current_power_w();
  *slot = limit_w;
  Reply(frame.message_id, {{"status", "Accepted"}});
  CSMS_LOG(kInfo, kLog) << Tag() << purpose << " limit " << FormatKw(limit_w) << " accepted"
                        << (tx_ ? "; charging at " + FormatKw(current_power_w()) : std::string());
  if (tx_ && current_power_w() != old_power) {
    EnqueueTransactionEvent("Updated", "ChargingRateChanged");
  }
}

// ---- Outgoing ------------------------------------------------------------------------------

void Charger::Emit(std::string frame) {
  CSMS_LOG(kDebug, kLog) << Tag() << ">> " << frame;
  outbox_.push_back(std::move(frame));
}

void Charger::Reply(const std::string& message_id, const json& payload) {
  Emit(ocpp::SerializeCallResult(message_id, payload));
}

void Charger::ReplyError(const std::string& message_id, std::string_view code,
                         std::string_view description) {
  Emit(ocpp::SerializeCallError(message_id, code, description));
}

void Charger::Enqueue(std::string action, json payload, bool front) {
  QueuedCall call;
  call.is_transaction_event = action == "TransactionEvent";
  call.action = std::move(action);
  call.payload = std::move(payload);
  if (front) {
    queue_.push_front(std::move(call));
  } else {
    queue_.push_back(std::move(call));
  }
}

void Charger::EnqueueBoot(std::string_view reason) {
  // serialNumber is at most 25 characters in the schema.
  std::string serial = options_.serial_number.empty()
                           ? ("SN-" + options_.station_id + "-001").substr(0, 25)
                           : options_.serial_number.substr(0, 25);
  json station = {{"model", options_.model},
                  {"vendorName", options_.vendor},
                  {"serialNumber", serial},
                  {"firmwareVersion", options_.firmware_version}};
  Enqueue("BootNotification", {{"reason", reason}, {"chargingStation", station}});
}

void Charger::EnqueueStatus(bool front) {
  if (!connected_) return;  // sent again on reconnect anyway
  Enqueue("StatusNotification",
          {{"timestamp", FormatRfc3339(clock_.Now())},
           {"connectorStatus", connector_status()},
           {"evseId", 1},
           {"connectorId", 1}},
          front);
}

void Charger::EnqueueMeterValues(int evse_id) {
  // F06.FR.06: the register (and the power) with context Trigger. EVSE 0 is the station's main
  // meter, which here is the same meter.
  const TimePoint now = clock_.Now();
  Integrate(now);
  json samples = json::array({{{"value", std::llround(energy_wh_)},
                               {"measurand", "Energy.Active.Import.Register"},
                               {"context", "Trigger"},
                               {"unitOfMeasure", {{"unit", "Wh"}}}},
                              {{"value", std::llround(current_power_w())},
                               {"measurand", "Power.Active.Import"},
                               {"context", "Trigger"},
                               {"unitOfMeasure", {{"unit", "W"}}}}});
  Enqueue("MeterValues", {{"evseId", evse_id},
                          {"meterValue", json::array({{{"timestamp", FormatRfc3339(now)},
                                                       {"sampledValue", std::move(samples)}}})}});
}

void Charger::EnqueueTransactionEvent(std::string_view event_type, std::string_view trigger_reason,
                                      std::string_view stopped_reason) {
  const TimePoint now = clock_.Now();
  Integrate(now);
  const std::string timestamp = FormatRfc3339(now);
  const bool ended = event_type == "Ended";
  const double power_w = ended ? 0.0 : current_power_w();
  json body = {{"eventType", event_type},
               {"timestamp", timestamp},
               {"triggerReason", trigger_reason},
               {"seqNo", tx_->seq_no++}};
  if (options_.dialect == Dialect::kSeed) {
    // The seed server reads dimensions[0] as the energy on Ended, so Energy stays first, and
    // counts the session's energy from 0.
    const double session_wh = energy_wh_ - tx_->start_register_wh;
    json dimensions = json::array(
        {{{"name", "Energy.Active.Import.Register"}, {"value", std::llround(session_wh)}},
         {{"name", "Power.Active.Import"}, {"value", std::llround(power_w)}}});
    json data = {{"transactionId", tx_->id},
                 {"chargingPeriods", json::array({{{"dimensions", dimensions}}})}};
    if (options_.seed_price_per_kwh > 0 && event_type != "Started") {
      double cost = session_wh / 1000.0 * options_.seed_price_per_kwh;
      data["totalCost"] = std::round(cost * 100.0) / 100.0;
    }
    if (!stopped_reason.empty()) data["stoppedReason"] = stopped_reason;
    body["transactionData"] = std::move(data);
  } else {
    json info = {{"transactionId", tx_->id}, {"chargingState", ended ? "EVConnected" : "Charging"}};
    // F01.FR.19: remoteStartId goes with the first event after RequestStartTransaction.
    if (event_type == "Started" && tx_->remote_start_id) {
      info["remoteStartId"] = *tx_->remote_start_id;
    }
    if (!stopped_reason.empty()) info["stoppedReason"] = stopped_reason;
    body["transactionInfo"] = std::move(info);
    if (event_type == "Started") {
      body["evse"] = {{"id", 1}, {"connectorId", 1}};  // E01.FR.16: first event only
      if (!tx_->id_token.is_null()) body["idToken"] = tx_->id_token;
    }
    const char* context = ReadingContext(event_type, trigger_reason);
    json samples = json::array({{{"value", std::llround(energy_wh_)},
                                 {"measurand", "Energy.Active.Import.Register"},
                                 {"context", context},
                                 {"unitOfMeasure", {{"unit", "Wh"}}}}});
    if (event_type == "Updated") {
      samples.push_back({{"value", std::llround(power_w)},
                         {"measurand", "Power.Active.Import"},
                         {"context", context},
                         {"unitOfMeasure", {{"unit", "W"}}}});
    }
    body["meterValue"] = json::array({{{"timestamp", timestamp}, {"sampledValue", samples}}});
    if (!connected_) body["offline"] = true;
  }
  Enqueue("TransactionEvent", std::move(body));
}

bool Charger::IsQueued(std::string_view action) const {
  return std::any_of(queue_.begin(), queue_.end(),
                     [action](const QueuedCall& c) { return c.action == action; });
}

void Charger::Pump() {
  // OCPP-J: one CALL of ours in flight at a time.
  // After a password change the connection is about to close: start nothing it would cut off.
  if (!connected_ || in_flight_ || reconnect_pending_) return;
  const TimePoint now = clock_.Now();
  bool earlier_transaction_event = false;
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    bool eligible = true;
    // B01.FR.08: nothing but BootNotification before the CSMS accepted us; while Pending also
    // what the CSMS asked for with TriggerMessage (B02.FR.02).
    if (boot_state_ != BootState::kAccepted && it->action != "BootNotification" &&
        !(boot_state_ == BootState::kPending && it->triggered)) {
      eligible = false;
    }
    // Before a reboot only the transaction events still go out (B12.FR.04).
    if (reboot_draining_ && !it->is_transaction_event) eligible = false;
    // Transaction events go strictly in the order they happened.
    if (it->is_transaction_event) {
      if (earlier_transaction_event) eligible = false;
      earlier_transaction_event = true;
    }
    if (it->not_before && *it->not_before > now) eligible = false;
    if (!eligible) continue;
    QueuedCall call = std::move(*it);
    queue_.erase(it);
    ++call.attempts;
    std::string id = NewMessageId();
    Emit(ocpp::SerializeCall(id, call.action, call.payload));
    in_flight_ = InFlight{std::move(id), std::move(call), now + options_.call_timeout};
    return;
  }
  if (reboot_draining_) MaybeFinishRebootDrain();
}

// ---- Transactions --------------------------------------------------------------------------

void Charger::StartTransaction(const json& id_token, std::optional<int> remote_start_id) {
  const TimePoint now = clock_.Now();
  Transaction tx;
  tx.id = NewUuid();
  tx.remote_start_id = remote_start_id;
  tx.id_token = id_token;
  tx.start_register_wh = energy_wh_;
  tx.started_at = now;
  tx.last_integrated_at = now;
  tx.next_meter_at = now + options_.meter_interval;
  tx_ = std::move(tx);
  EnqueueStatus();  // Occupied
  EnqueueTransactionEvent("Started", "RemoteStart");
  CSMS_LOG(kInfo, kLog) << Tag() << "transaction " << tx_->id << " started"
                        << (remote_start_id
                                ? " (remoteStartId " + std::to_string(*remote_start_id) + ")"
                                : std::string())
                        << " at " << FormatKw(current_power_w()) << ", register "
                        << FormatKwh(energy_wh_);
}

void Charger::EndTransaction(std::string_view trigger_reason, std::string_view stopped_reason) {
  EnqueueTransactionEvent("Ended", trigger_reason, stopped_reason);
  CSMS_LOG(kInfo, kLog) << Tag() << "transaction " << tx_->id << " ended (" << stopped_reason
                        << "): " << FormatKwh(energy_wh_ - tx_->start_register_wh)
                        << " delivered, register " << FormatKwh(energy_wh_);
  tx_.reset();
  tx_limit_w_.reset();
  EnqueueStatus();  // Available, or Unavailable after a ChangeAvailability that was Scheduled
  if (evse_reset_scheduled_) {
    evse_reset_scheduled_ = false;
    CSMS_LOG(kInfo, kLog) << Tag() << "EVSE 1 reset (scheduled OnIdle) done";
  }
  if (reboot_scheduled_) BeginReboot();  // Reset OnIdle: the station is idle now
}

void Charger::Integrate(TimePoint now) {
  if (!tx_ || now <= tx_->last_integrated_at) return;
  const double hours =
      std::chrono::duration<double>(now - tx_->last_integrated_at).count() / 3600.0;
  energy_wh_ += current_power_w() * hours * options_.energy_speedup;
  tx_->last_integrated_at = now;
}

std::string Charger::NewMessageId() {
  return message_id_prefix_ + "-" + std::to_string(++message_counter_);
}

std::string Charger::NewUuid() {
  uint64_t a = rng_();
  uint64_t b = rng_();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

}  // namespace csms::sim
