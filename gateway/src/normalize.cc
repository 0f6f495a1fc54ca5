#include "csms/gateway/normalize.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>

#include "csms/common/ocpp_frame.h"
#include "csms/gateway/payload_check.h"

namespace csms::gateway {
namespace {

namespace ec = ocpp::error_code;
using nlohmann::json;
using ocpp::v1::TransactionEvent;

const std::initializer_list<std::string_view> kEventTypes = {"Started", "Updated", "Ended"};
const std::initializer_list<std::string_view> kTriggerReasons = {
    "Authorized",      "CablePluggedIn",     "ChargingRateChanged", "ChargingStateChanged",
    "Deauthorized",    "EnergyLimitReached", "EVCommunicationLost", "EVConnectTimeout",
    "MeterValueClock", "MeterValuePeriodic", "TimeLimitReached",    "Trigger",
    "UnlockCommand",   "StopAuthorized",     "EVDeparted",          "EVDetected",
    "RemoteStop",      "RemoteStart",        "AbnormalCondition",   "SignedDataReceived",
    "ResetCommand"};
const std::initializer_list<std::string_view> kChargingStates = {
    "Charging", "EVConnected", "SuspendedEV", "SuspendedEVSE", "Idle"};
const std::initializer_list<std::string_view> kStoppedReasons = {
    "DeAuthorized",     "EmergencyStop", "EnergyLimitReached", "EVDisconnected", "GroundFault",
    "ImmediateReset",   "Local",         "LocalOutOfCredit",   "MasterPass",     "Other",
    "OvercurrentFault", "PowerLoss",     "PowerQuality",       "Reboot",         "Remote",
    "SOCLimitReached",  "StoppedByEV",   "TimeLimitReached",   "Timeout"};
const std::initializer_list<std::string_view> kIdTokenTypes = {
    "Central", "eMAID", "ISO14443",   "ISO15693",
    "KeyCode", "Local", "MacAddress", "NoAuthorization"};
const std::initializer_list<std::string_view> kContexts = {
    "Interruption.Begin", "Interruption.End",  "Other",           "Sample.Clock",
    "Sample.Periodic",    "Transaction.Begin", "Transaction.End", "Trigger"};

constexpr const char* kEnergyRegister = "Energy.Active.Import.Register";
constexpr const char* kActivePower = "Power.Active.Import";
constexpr const char* kEnergyInterval = "Energy.Active.Import.Interval";
// Seed-dialect Ended events have no seqNo; they sort after every Updated.
constexpr int64_t kSeedEndedOrder = int64_t{1} << 31;

ocpp::v1::TransactionEventType EventTypeFromString(const std::string& s) {
  if (s == "Started") return ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED;
  if (s == "Updated") return ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED;
  return ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;
}

void CheckIdToken(const PayloadCheck& token, TransactionEvent* event) {
  std::string value = token.RequiredString("idToken", 36);
  std::string type = token.RequiredEnum("type", kIdTokenTypes);
  if (event != nullptr) {
    event->set_id_token(value);
    event->set_id_token_type(type);
  }
}

// Scale factor to Wh or W for a unitOfMeasure (unit + power-of-ten multiplier).
double UnitScale(const std::optional<PayloadCheck>& unit_of_measure) {
  if (!unit_of_measure) return 1.0;
  double scale = 1.0;
  if (auto unit = unit_of_measure->OptionalString("unit", 20)) {
    if (*unit == "kWh" || *unit == "kW") scale = 1000.0;
  }
  if (auto multiplier = unit_of_measure->OptionalInt("multiplier")) {
    scale *= std::pow(10.0, static_cast<double>(*multiplier));
  }
  return scale;
}

// One measurand in one meterValue: the phase-less value, or else the sum of the phases. Meters
// that report only per-phase registers are billed from the sum of L1, L2 and L3 (or of L1-N,
// L2-N and L3-N when that is how they report); a neutral or line-to-line value never adds in.
struct PhasedValue {
  std::optional<double> total;
  std::map<std::string, double> phases;

  void Add(const std::optional<std::string>& phase, double value) {
    if (!phase) {
      total = value;
    } else {
      phases[*phase] = value;
    }
  }
  std::optional<double> Value() const {
    if (total) return total;
    for (const auto& set : {std::array<const char*, 3>{"L1", "L2", "L3"},
                            std::array<const char*, 3>{"L1-N", "L2-N", "L3-N"}}) {
      double sum = 0;
      bool any = false;
      for (const char* phase : set) {
        if (auto it = phases.find(phase); it != phases.end()) {
          sum += it->second;
          any = true;
        }
      }
      if (any) return sum;
    }
    return std::nullopt;
  }
};

// Reads standard meterValue[].sampledValue[] at the outlet: the latest energy register and active
// power, a Transaction.Begin register as the meter start (with its own time), and the sum of
// Energy.Active.Import.Interval values (each the energy of its own interval).
void ReadStandardMeterValues(const json& meter_values, TransactionEvent* event) {
  std::optional<TimePoint> energy_time, power_time;
  std::optional<double> interval_sum;
  for (size_t i = 0; i < meter_values.size(); ++i) {
    PayloadCheck meter(meter_values[i], "meterValue[" + std::to_string(i) + "]");
    TimePoint sample_time = meter.RequiredTime("timestamp");
    const json* samples = meter.OptionalArray("sampledValue");
    if (samples == nullptr) {
      PayloadCheck::Fail(ec::kOccurrenceConstraintViolation,
                         meter.PathOf("sampledValue") + " is required");
    }
    PhasedValue begin, energy, power, interval;
    for (size_t j = 0; j < samples->size(); ++j) {
      PayloadCheck sample((*samples)[j], meter.PathOf("sampledValue[" + std::to_string(j) + "]"));
      auto value = sample.OptionalNumber("value");
      if (!value) {
        PayloadCheck::Fail(ec::kOccurrenceConstraintViolation,
                           sample.PathOf("value") + " is required");
      }
      std::string measurand = sample.OptionalString("measurand", 64).value_or(kEnergyRegister);
      std::string context = sample.OptionalEnum("context", kContexts).value_or("Sample.Periodic");
      std::optional<std::string> phase = sample.OptionalString("phase", 8);
      std::string location = sample.OptionalString("location", 16).value_or("Outlet");
      if (location != "Outlet") continue;  // EV, cable, inlet or body: not what the EVSE delivers
      double scaled = *value * UnitScale(sample.OptionalObject("unitOfMeasure"));
      if (measurand == kEnergyRegister) {
        if (context == "Transaction.Begin") begin.Add(phase, scaled);
        energy.Add(phase, scaled);
      } else if (measurand == kActivePower) {
        power.Add(phase, scaled);
      } else if (measurand == kEnergyInterval) {
        interval.Add(phase, scaled);
      }
    }
    if (auto wh = begin.Value()) {
      event->set_meter_start_wh(*wh);
      *event->mutable_meter_start_time() = ToProto(sample_time);
    }
    if (auto wh = energy.Value(); wh && (!energy_time || sample_time >= *energy_time)) {
      energy_time = sample_time;
      event->set_energy_register_wh(*wh);
    }
    if (auto w = power.Value(); w && (!power_time || sample_time >= *power_time)) {
      power_time = sample_time;
      event->set_power_w(*w);
    }
    if (auto wh = interval.Value()) interval_sum = interval_sum.value_or(0) + *wh;
  }
  if (interval_sum) event->set_energy_interval_wh(*interval_sum);
}

void NormalizeStandard(const PayloadCheck& p, TransactionEvent* event) {
  event->set_dialect(ocpp::v1::DIALECT_OCPP201);
  event->set_trigger_reason(p.RequiredEnum("triggerReason", kTriggerReasons));
  int64_t seq_no = p.RequiredInt("seqNo");
  event->set_seq_no(seq_no);
  event->set_order_key(seq_no);
  event->set_dedup_key("seq:" + std::to_string(seq_no));
  PayloadCheck info = p.RequiredObject("transactionInfo");
  event->set_transaction_id(info.RequiredString("transactionId", 36));
  event->set_charging_state(info.OptionalEnum("chargingState", kChargingStates).value_or(""));
  if (auto reason = info.OptionalEnum("stoppedReason", kStoppedReasons)) {
    event->set_stopped_reason(*reason);
  }
  if (auto remote = info.OptionalInt("remoteStartId")) event->set_remote_start_id(*remote);
  info.OptionalInt("timeSpentCharging");
  event->set_offline(p.OptionalBool("offline").value_or(false));
  p.OptionalInt("numberOfPhasesUsed");
  p.OptionalInt("cableMaxCurrent");
  if (auto reservation = p.OptionalInt32("reservationId")) {
    event->set_reservation_id(*reservation);
  }
  if (auto evse = p.OptionalObject("evse")) {
    event->set_evse_id(evse->RequiredInt32("id"));
    event->set_connector_id(evse->OptionalInt32("connectorId").value_or(0));
  }
  if (auto token = p.OptionalObject("idToken")) CheckIdToken(*token, event);
  if (const json* meter_values = p.OptionalArray("meterValue")) {
    ReadStandardMeterValues(*meter_values, event);
  }
}

// The seed's C# simulator: transactionData{transactionId, chargingPeriods[].dimensions[],
// totalCost, stoppedReason}. Its energy register counts the session's energy from 0 Wh.
void NormalizeSeed(const PayloadCheck& p, TransactionEvent* event) {
  event->set_dialect(ocpp::v1::DIALECT_SEED);
  event->set_trigger_reason(p.OptionalString("triggerReason", 64).value_or(""));
  PayloadCheck data = p.RequiredObject("transactionData");
  event->set_transaction_id(data.RequiredString("transactionId", 36));
  if (auto reason = data.OptionalString("stoppedReason", 64)) event->set_stopped_reason(*reason);
  if (auto cost = data.OptionalNumber("totalCost")) event->set_station_reported_cost(*cost);
  if (auto remote = data.OptionalInt("remoteStartId")) event->set_remote_start_id(*remote);
  if (auto state = data.OptionalString("chargingState", 32)) event->set_charging_state(*state);
  if (auto remote = p.OptionalInt("remoteStartId")) event->set_remote_start_id(*remote);
  if (auto token = p.OptionalObject("idToken")) CheckIdToken(*token, event);
  if (auto evse_id = p.OptionalInt32("evseId")) event->set_evse_id(*evse_id);
  if (auto connector = p.OptionalInt32("connectorId")) event->set_connector_id(*connector);
  event->set_offline(p.OptionalBool("offline").value_or(false));
  if (const json* periods = data.OptionalArray("chargingPeriods")) {
    for (size_t i = 0; i < periods->size(); ++i) {
      PayloadCheck period((*periods)[i], data.PathOf("chargingPeriods[" + std::to_string(i) + "]"));
      const json* dimensions = period.OptionalArray("dimensions");
      if (dimensions == nullptr) continue;
      for (size_t j = 0; j < dimensions->size(); ++j) {
        PayloadCheck dim((*dimensions)[j], period.PathOf("dimensions[" + std::to_string(j) + "]"));
        std::string name = dim.RequiredString("name", 64);
        auto value = dim.OptionalNumber("value");
        if (!value) {
          PayloadCheck::Fail(ec::kOccurrenceConstraintViolation,
                             dim.PathOf("value") + " is required");
        }
        if (name == kEnergyRegister) event->set_energy_register_wh(*value);
        if (name == kActivePower) event->set_power_w(*value);
      }
    }
  }
  event->set_meter_start_wh(0.0);
  // The session's energy counts from this 0 Wh, taken at a start the dialect never times.
  *event->mutable_meter_start_time() = ToProto(TimePoint{});
  if (event->charging_state().empty() &&
      event->event_type() != ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED) {
    event->set_charging_state("Charging");
  }
  std::optional<int64_t> seq_no = p.OptionalInt("seqNo");
  if (seq_no) {
    event->set_seq_no(*seq_no);
    event->set_order_key(*seq_no);
    event->set_dedup_key("seq:" + std::to_string(*seq_no));
  } else {
    switch (event->event_type()) {
      case ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED:
        event->set_order_key(0);
        break;
      case ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED:
        event->set_order_key(1);
        break;
      default:
        event->set_order_key(kSeedEndedOrder);
    }
    // Without a seqNo, the event is named by what it says: type, time and register.
    std::string key = "seed:" + p.json()["eventType"].get<std::string>() + "@" +
                      p.json()["timestamp"].get<std::string>();
    if (event->has_energy_register_wh()) {
      key += "#" + std::to_string(std::llround(event->energy_register_wh() * 1000));
    }
    event->set_dedup_key(ocpp::TruncateUtf8(key, 128));
  }
}

}  // namespace

ocpp::v1::Dialect DetectTransactionDialect(const nlohmann::json& payload) {
  if (payload.contains("transactionData") && !payload.contains("transactionInfo")) {
    return ocpp::v1::DIALECT_SEED;
  }
  return ocpp::v1::DIALECT_OCPP201;
}

ocpp::v1::TransactionEvent NormalizeTransactionEvent(const nlohmann::json& payload,
                                                     const std::string& charger_id,
                                                     const std::string& connection_id,
                                                     TimePoint received_at, bool strict) {
  PayloadCheck p(payload, "");
  TransactionEvent event;
  event.set_charger_id(charger_id);
  event.set_connection_id(connection_id);
  event.set_event_type(EventTypeFromString(p.RequiredEnum("eventType", kEventTypes)));
  *event.mutable_timestamp() = ToProto(p.RequiredTime("timestamp"));
  *event.mutable_received_at() = ToProto(received_at);
  if (DetectTransactionDialect(payload) == ocpp::v1::DIALECT_SEED) {
    if (strict) {
      PayloadCheck::Fail(ec::kOccurrenceConstraintViolation,
                         "transactionInfo is required (the seed simulator's transactionData "
                         "dialect is refused in strict mode)");
    }
    NormalizeSeed(p, &event);
  } else {
    NormalizeStandard(p, &event);
  }
  if (event.event_type() == ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED &&
      event.stopped_reason().empty()) {
    event.set_stopped_reason("Local");  // OCPP: an absent stoppedReason means Local
  }
  event.set_raw_payload_json(payload.dump());
  return event;
}

}  // namespace csms::gateway
