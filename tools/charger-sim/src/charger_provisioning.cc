// Provisioning (OCPP 2.0.1 block B): the device model behind GetVariables, SetVariables,
// GetBaseReport and GetReport, and Reset with the reboot that follows it.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <tuple>
#include <vector>

#include "charger_internal.h"
#include "csms/common/log.h"
#include "csms/ocpp/v201/get_base_report.h"
#include "csms/ocpp/v201/get_report.h"
#include "csms/ocpp/v201/get_variables.h"
#include "csms/ocpp/v201/notify_report.h"
#include "csms/ocpp/v201/reset.h"
#include "csms/ocpp/v201/set_variables.h"

namespace csms::sim {
namespace {

using internal::Find;
using internal::kLog;
using internal::RequireField;
using nlohmann::json;
namespace ec = ocpp::error_code;
namespace v201 = ocpp::v201;
using Attr = v201::AttributeEnum;

// DeviceDataCtrlr.ItemsPerMessage: different on purpose, so that a CSMS reading the wrong
// instance is caught. BytesPerMessage is the same for both.
constexpr int kGetVariablesItems = 4;
constexpr int kSetVariablesItems = 8;
constexpr int kBytesPerMessage = 8192;

// persistent: kept across reboots; constant: never changes (reported in NotifyReport).
AttributeDef Fixed(Attr type, Mutability mutability, std::string value, bool persistent = false,
                   bool constant = false) {
  AttributeDef attribute;
  attribute.type = type;
  attribute.mutability = mutability;
  attribute.value = std::move(value);
  attribute.persistent = persistent;
  attribute.constant = constant;
  return attribute;
}

// A value that never changes: the hardware, the firmware's limits.
AttributeDef Constant(std::string value) {
  return Fixed(Attr::kActual, Mutability::kReadOnly, std::move(value), true, true);
}

AttributeDef Live(Attr type, Mutability mutability, std::function<std::string()> read,
                  bool persistent = false) {
  AttributeDef attribute;
  attribute.type = type;
  attribute.mutability = mutability;
  attribute.read = std::move(read);
  attribute.persistent = persistent;
  return attribute;
}

// What AvailabilityState may say (OCPP 2.0.1 Part 2, appendix 3).
const std::vector<std::string> kAvailabilityStates = {"Available", "Occupied", "Reserved",
                                                      "Unavailable", "Faulted"};

ComponentKey StationComponent(std::string name) {
  return ComponentKey{std::move(name), {}, {}, {}};
}

int ToInt(const std::string& text) {
  int value = 0;
  std::from_chars(text.data() + (text.starts_with('+') ? 1 : 0), text.data() + text.size(), value);
  return value;
}

// OCPP passwordString as used for BasicAuthPassword: 16 to 40 of a-z A-Z 0-9 * - _ = : + | @ .
std::string BasicAuthPasswordProblem(const std::string& value) {
  if (value.size() < 16 || value.size() > 40) return "password must be 16 to 40 characters";
  for (unsigned char c : value) {
    if (!std::isalnum(c) &&
        std::string_view("*-_=:+|@.").find(static_cast<char>(c)) == std::string_view::npos) {
      return "password may only contain a-z A-Z 0-9 * - _ = : + | @ .";
    }
  }
  return "";
}

std::string Name(const v201::Component& component, const v201::Variable& variable) {
  std::string name = component.name;
  if (component.evse) {
    name += "(evse " + std::to_string(component.evse->id);
    if (component.evse->connector_id) {
      name += ", connector " + std::to_string(*component.evse->connector_id);
    }
    name += ")";
  }
  return log::Sanitize(name + "." + variable.name, 120);
}

}  // namespace

// The station's variables (OCPP 2.0.1 Part 2, appendix 3 names). Values that the station itself
// owns (heartbeat interval, power, availability) are read live; writes go back through on_change.
void Charger::BuildDeviceModel() {
  constexpr auto kRO = Mutability::kReadOnly;
  constexpr auto kRW = Mutability::kReadWrite;

  // Available: the component is there (appendix 3); its state is AvailabilityState.
  const auto add_available = [this](const ComponentKey& component) {
    VariableDef v;
    v.component = component;
    v.name = "Available";
    v.type = DataType::kBoolean;
    v.attributes = {Constant("true")};
    model_.Add(std::move(v));
  };

  // ChargingStation
  {
    VariableDef v;
    v.component = StationComponent("ChargingStation");
    v.name = "AvailabilityState";
    v.type = DataType::kOptionList;
    v.options = kAvailabilityStates;
    v.attributes = {Live(Attr::kActual, kRO, [this] {
      return std::string(tx_ ? "Occupied" : station_operative_ ? "Available" : "Unavailable");
    })};
    model_.Add(std::move(v));
  }
  add_available(StationComponent("ChargingStation"));
  for (auto [name, value] : {std::pair<const char*, std::string>{"Model", options_.model},
                             {"VendorName", options_.vendor}}) {
    VariableDef v;
    v.component = StationComponent("ChargingStation");
    v.name = name;
    v.attributes = {Constant(value)};
    model_.Add(std::move(v));
  }

  // EVSE 1 and its connector
  const ComponentKey evse{"EVSE", {}, 1, {}};
  const ComponentKey connector{"Connector", {}, 1, 1};
  {
    VariableDef v;
    v.component = evse;
    v.name = "AvailabilityState";
    v.type = DataType::kOptionList;
    v.options = kAvailabilityStates;
    v.attributes = {Live(Attr::kActual, kRO, [this] {
      if (tx_) return std::string("Occupied");
      return std::string(station_operative_ && evse_operative_ ? "Available" : "Unavailable");
    })};
    model_.Add(std::move(v));
  }
  add_available(evse);
  {
    VariableDef v;
    v.component = evse;
    v.name = "Power";  // W: what it delivers now, and the hardware maximum (also maxLimit)
    v.type = DataType::kDecimal;
    v.unit = "W";
    v.min_limit = 0;
    v.max_limit = static_cast<double>(std::llround(options_.max_power_w));
    v.attributes = {
        Live(Attr::kActual, kRO,
             [this] { return std::to_string(std::llround(current_power_w())); }),
        Fixed(Attr::kMaxSet, kRO, std::to_string(std::llround(options_.max_power_w)), true, true)};
    model_.Add(std::move(v));
  }
  {
    VariableDef v;
    v.component = connector;
    v.name = "AvailabilityState";
    v.type = DataType::kOptionList;
    v.options = kAvailabilityStates;
    v.attributes = {Live(Attr::kActual, kRO, [this] { return std::string(connector_status()); })};
    model_.Add(std::move(v));
  }
  add_available(connector);
  {
    VariableDef v;
    v.component = connector;
    v.name = "ConnectorType";
    v.type = DataType::kOptionList;
    v.options = {"cCCS2"};
    v.attributes = {Constant("cCCS2")};
    model_.Add(std::move(v));
  }

  // OCPPCommCtrlr
  {
    VariableDef v;
    v.component = StationComponent("OCPPCommCtrlr");
    v.name = "HeartbeatInterval";  // s; also set by the BootNotification answer
    v.type = DataType::kInteger;
    v.unit = "s";
    v.min_limit = 1;
    v.max_limit = 86400;
    v.attributes = {Live(
        Attr::kActual, kRW, [this] { return std::to_string(heartbeat_interval_.count()); }, true)};
    v.on_change = [this](Attr, const std::string& value) {
      heartbeat_interval_ = std::chrono::seconds(ToInt(value));
      if (boot_state_ == BootState::kAccepted && connected_) {
        next_heartbeat_at_ = clock_.Now() + heartbeat_interval_;
      }
      CSMS_LOG(kInfo, kLog) << Tag() << "heartbeat every " << heartbeat_interval_.count()
                            << " s (SetVariables)";
    };
    model_.Add(std::move(v));
  }
  {
    // The one variable that needs a reboot: the RPC layer reads its timeout when it starts.
    VariableDef v;
    v.component = StationComponent("OCPPCommCtrlr");
    v.name = "MessageTimeout";
    v.instance = "Default";
    v.type = DataType::kInteger;
    v.unit = "s";
    v.min_limit = 1;
    v.max_limit = 3600;
    v.reboot_required = true;
    v.attributes = {Live(
        Attr::kActual, kRW, [this] { return std::to_string(options_.call_timeout.count()); },
        true)};
    v.on_change = [this](Attr, const std::string& value) {
      options_.call_timeout = std::chrono::seconds(ToInt(value));
      CSMS_LOG(kInfo, kLog) << Tag() << "message timeout now " << options_.call_timeout.count()
                            << " s";
    };
    model_.Add(std::move(v));
  }

  // DeviceDataCtrlr: the limits this station enforces on GetVariables and SetVariables.
  for (auto [instance, items] : {std::pair<const char*, int>{"GetVariables", kGetVariablesItems},
                                 {"SetVariables", kSetVariablesItems}}) {
    VariableDef v;
    v.component = StationComponent("DeviceDataCtrlr");
    v.name = "ItemsPerMessage";
    v.instance = instance;
    v.type = DataType::kInteger;
    v.attributes = {Constant(std::to_string(items))};
    model_.Add(v);
    v.name = "BytesPerMessage";
    v.attributes = {Constant(std::to_string(kBytesPerMessage))};
    model_.Add(std::move(v));
  }

  // SecurityCtrlr: A01, the password is written, never read back.
  {
    VariableDef v;
    v.component = StationComponent("SecurityCtrlr");
    v.name = "BasicAuthPassword";
    v.attributes = {Fixed(Attr::kActual, Mutability::kWriteOnly, "", /*persistent=*/true)};
    v.check = BasicAuthPasswordProblem;
    v.on_change = [this](Attr, const std::string& value) {
      new_password_ = value;  // a later entry of the same request wins
    };
    model_.Add(std::move(v));
  }

  {
    // The profile the transport connects with; changing it (A05) is not simulated.
    VariableDef v;
    v.component = StationComponent("SecurityCtrlr");
    v.name = "SecurityProfile";
    v.type = DataType::kInteger;
    v.min_limit = 0;
    v.max_limit = 3;
    v.attributes = {Fixed(Attr::kActual, kRO, std::to_string(options_.security_profile), true)};
    model_.Add(std::move(v));
  }

  // AuthCtrlr: kept and reported only; the simulator never sends Authorize for a remote start.
  for (auto [name, value] : {std::pair<const char*, const char*>{"Enabled", "true"},
                             {"AuthorizeRemoteStart", "false"}}) {
    VariableDef v;
    v.component = StationComponent("AuthCtrlr");
    v.name = name;
    v.type = DataType::kBoolean;
    v.attributes = {Fixed(Attr::kActual, kRW, value, /*persistent=*/true)};
    model_.Add(std::move(v));
  }

  // SmartChargingCtrlr: SetChargingProfile takes limits in A or W.
  {
    VariableDef v;
    v.component = StationComponent("SmartChargingCtrlr");
    v.name = "Enabled";
    v.type = DataType::kBoolean;
    v.attributes = {Constant("true")};
    model_.Add(v);
    v.name = "RateUnit";
    v.type = DataType::kMemberList;
    v.options = {"A", "W"};
    v.attributes = {Constant("A,W")};
    model_.Add(std::move(v));
  }

  // SampledDataCtrlr: the period of TransactionEvent Updated (0 = none).
  {
    VariableDef v;
    v.component = StationComponent("SampledDataCtrlr");
    v.name = "TxUpdatedInterval";
    v.type = DataType::kInteger;
    v.unit = "s";
    v.min_limit = 0;
    v.max_limit = 86400;
    v.attributes = {Live(
        Attr::kActual, kRW, [this] { return std::to_string(options_.meter_interval.count()); },
        true)};
    v.on_change = [this](Attr, const std::string& value) {
      options_.meter_interval = std::chrono::seconds(ToInt(value));
      if (tx_) tx_->next_meter_at = clock_.Now() + options_.meter_interval;
      CSMS_LOG(kInfo, kLog) << Tag() << "TransactionEvent Updated every "
                            << options_.meter_interval.count() << " s (SetVariables)";
    };
    model_.Add(std::move(v));
  }

  // Synthetic variables, so that a report can be as large as a test needs.
  for (int i = 1; i <= options_.extra_variables; ++i) {
    VariableDef v;
    v.component = StationComponent("SimExtra");
    v.name = "Var" + std::to_string(i);
    v.type = DataType::kInteger;
    v.attributes = {Constant(std::to_string(i))};
    model_.Add(std::move(v));
  }
}

bool Charger::WithinMessageLimits(const ocpp::Frame& frame, size_t items) {
  const std::string instance = frame.action;
  const int max_items =
      ToInt(model_.Value("DeviceDataCtrlr", "ItemsPerMessage", instance).value_or("0"));
  const int max_bytes =
      ToInt(model_.Value("DeviceDataCtrlr", "BytesPerMessage", instance).value_or("0"));
  if (max_items > 0 && items > static_cast<size_t>(max_items)) {
    // B05.FR.11 / B06.FR.05: what real stations answer to a CSMS that ignores the limit.
    ReplyError(frame.message_id, ec::kOccurrenceConstraintViolation,
               std::to_string(items) + " items; DeviceDataCtrlr.ItemsPerMessage[" + instance +
                   "] is " + std::to_string(max_items));
    return false;
  }
  const size_t bytes = frame.payload.dump().size();
  if (max_bytes > 0 && bytes > static_cast<size_t>(max_bytes)) {
    ReplyError(frame.message_id, ec::kFormatViolation,
               std::to_string(bytes) + " bytes; DeviceDataCtrlr.BytesPerMessage[" + instance +
                   "] is " + std::to_string(max_bytes));
    return false;
  }
  return true;
}

void Charger::OnGetVariables(const ocpp::Frame& frame) {
  v201::GetVariablesRequest request;
  if (!DecodeRequest(frame, &request)) return;
  if (!WithinMessageLimits(frame, request.get_variable_data.size())) return;
  v201::GetVariablesResponse response;
  for (const auto& data : request.get_variable_data) {
    response.get_variable_result.push_back(model_.Get(data));
  }
  Reply(frame.message_id, ocpp::Encode(response));
}

void Charger::OnSetVariables(const ocpp::Frame& frame) {
  const json* list = Find(frame.payload, "setVariableData");
  if (list == nullptr) {
    return ReplyError(frame.message_id, ec::kOccurrenceConstraintViolation,
                      "setVariableData is required");
  }
  if (!list->is_array() || list->empty()) {
    return ReplyError(frame.message_id, ec::kTypeConstraintViolation,
                      "setVariableData must be a non-empty array");
  }
  // Check every entry first: a CALLERROR must not follow a change already made.
  for (const json& data : *list) {
    if (!data.is_object()) {
      return ReplyError(frame.message_id, ec::kTypeConstraintViolation,
                        "setVariableData entries must be objects");
    }
    for (auto [key, type, type_name] :
         {std::tuple{"attributeValue", json::value_t::string, "a string"},
          std::tuple{"component", json::value_t::object, "an object"},
          std::tuple{"variable", json::value_t::object, "an object"}}) {
      if (auto problem = RequireField(data, key, type, type_name)) {
        return ReplyError(frame.message_id, problem->code, problem->description);
      }
    }
    for (const char* part : {"component", "variable"}) {
      if (auto problem = RequireField(data[part], "name", json::value_t::string, "a string")) {
        return ReplyError(frame.message_id, problem->code,
                          std::string(part) + "." + problem->description);
      }
    }
    // The result echoes attributeType, so it must be one the response schema allows.
    if (const json* type = Find(data, "attributeType");
        type != nullptr && (!type->is_string() || (*type != "Actual" && *type != "Target" &&
                                                   *type != "MinSet" && *type != "MaxSet"))) {
      return ReplyError(frame.message_id, ec::kPropertyConstraintViolation,
                        "attributeType must be Actual, Target, MinSet or MaxSet");
    }
  }
  // Then the rest of the schema. An attributeValue over the schema's 1000 characters stays an
  // item that is Rejected (as a too long password always was), so it is left out of this check.
  json shape = frame.payload;
  for (json& data : shape["setVariableData"]) data["attributeValue"] = "";
  if (auto violation =
          ocpp::SchemaSet::Ocpp201().Validate(frame.action, ocpp::PayloadKind::kRequest, shape)) {
    return ReplyError(frame.message_id, violation->code, violation->description);
  }
  v201::SetVariablesRequest request;
  try {
    request = ocpp::Decode<v201::SetVariablesRequest>(frame.payload);
  } catch (const ocpp::model::DecodeError& e) {
    return ReplyError(frame.message_id, e.code(), e.what());
  }
  if (!WithinMessageLimits(frame, request.set_variable_data.size())) return;

  v201::SetVariablesResponse response;
  for (const auto& data : request.set_variable_data) {
    v201::SetVariableResult result = model_.Set(data);
    // Never the value: it may be a password.
    if (result.attribute_status == v201::SetVariableStatusEnum::kRebootRequired) {
      CSMS_LOG(kInfo, kLog) << Tag() << Name(data.component, data.variable)
                            << " changes after the next reboot";
    } else if (result.attribute_status != v201::SetVariableStatusEnum::kAccepted) {
      const auto& info = result.attribute_status_info;
      CSMS_LOG(kWarn, kLog) << Tag() << Name(data.component, data.variable) << " change "
                            << v201::ToString(result.attribute_status)
                            << (info ? ": " + info->additional_info.value_or("") : std::string());
    }
    response.set_variable_result.push_back(std::move(result));
  }
  Reply(frame.message_id, ocpp::Encode(response));
  if (new_password_) reconnect_pending_ = true;  // the reply is in the outbox before the close
}

// ---- Reports (B07, B08) ----------------------------------------------------------------------

void Charger::OnGetBaseReport(const ocpp::Frame& frame) {
  v201::GetBaseReportRequest request;
  if (!DecodeRequest(frame, &request)) return;
  std::vector<v201::ReportData> items = model_.BaseReport(request.report_base);
  v201::GetBaseReportResponse response;
  response.status = v201::GenericDeviceModelStatusEnum::kAccepted;
  Reply(frame.message_id, ocpp::Encode(response));
  CSMS_LOG(kInfo, kLog) << Tag() << "GetBaseReport " << v201::ToString(request.report_base);
  EnqueueReport(request.request_id, items);
}

void Charger::OnGetReport(const ocpp::Frame& frame) {
  v201::GetReportRequest request;
  if (!DecodeRequest(frame, &request)) return;
  std::vector<v201::ReportData> items =
      model_.Report({request.component_variable, request.component_criteria});
  v201::GetReportResponse response;
  response.status = items.empty() ? v201::GenericDeviceModelStatusEnum::kEmptyResultSet
                                  : v201::GenericDeviceModelStatusEnum::kAccepted;
  Reply(frame.message_id, ocpp::Encode(response));
  CSMS_LOG(kInfo, kLog) << Tag() << "GetReport: " << v201::ToString(response.status);
  if (!items.empty()) EnqueueReport(request.request_id, items);
}

void Charger::EnqueueReport(int request_id, const std::vector<v201::ReportData>& items) {
  const std::string generated_at = FormatRfc3339(clock_.Now());
  const size_t per_part = static_cast<size_t>(std::max(1, options_.report_items_per_part));
  // A base report of nothing is still one (empty) part, so the CSMS sees the report end.
  const size_t parts = std::max<size_t>(1, (items.size() + per_part - 1) / per_part);
  std::vector<json> payloads;
  payloads.reserve(parts);
  for (size_t seq = 0; seq < parts; ++seq) {
    v201::NotifyReportRequest part;
    part.request_id = request_id;
    part.generated_at = generated_at;
    part.seq_no = static_cast<int32_t>(seq);
    part.tbc = seq + 1 < parts;
    const size_t begin = seq * per_part;
    const size_t end = std::min(items.size(), begin + per_part);
    if (begin < end) {
      part.report_data.emplace(items.begin() + static_cast<std::ptrdiff_t>(begin),
                               items.begin() + static_cast<std::ptrdiff_t>(end));
    }
    payloads.push_back(ocpp::Encode(part));
  }
  if (options_.report_order == ReportOrder::kReverse) {
    std::reverse(payloads.begin(), payloads.end());
  }
  for (json& payload : payloads) {
    Enqueue("NotifyReport", std::move(payload));
    queue_.back().triggered = true;  // asked for by the CSMS: may go while the boot is Pending
  }
  CSMS_LOG(kInfo, kLog) << Tag() << "report " << request_id << ": " << items.size()
                        << " variable(s) in " << parts << " NotifyReport part(s)"
                        << (options_.report_order == ReportOrder::kReverse ? ", last first" : "");
}

// ---- Reset (B11, B12) -----------------------------------------------------------------------

void Charger::OnReset(const ocpp::Frame& frame) {
  v201::ResetRequest request;
  if (!DecodeRequest(frame, &request)) return;
  const bool immediate = request.type == v201::ResetEnum::kImmediate;
  v201::ResetResponse response;
  if (request.evse_id) {
    // A single EVSE; the station keeps running.
    if (*request.evse_id != 1) {
      response.status = v201::ResetStatusEnum::kRejected;
      response.status_info = v201::StatusInfo{{}, "UnknownEvse", "this station has EVSE 1 only"};
      return Reply(frame.message_id, ocpp::Encode(response));
    }
    if (tx_ && !immediate) {
      evse_reset_scheduled_ = true;
      response.status = v201::ResetStatusEnum::kScheduled;
      CSMS_LOG(kInfo, kLog) << Tag() << "EVSE 1 reset scheduled for the end of transaction "
                            << tx_->id;
      return Reply(frame.message_id, ocpp::Encode(response));
    }
    response.status = v201::ResetStatusEnum::kAccepted;
    Reply(frame.message_id, ocpp::Encode(response));
    CSMS_LOG(kInfo, kLog) << Tag() << "EVSE 1 reset (" << v201::ToString(request.type) << ")";
    evse_reset_scheduled_ = false;
    if (tx_) {
      EndTransaction("ResetCommand", "ImmediateReset");  // ends with a StatusNotification
    } else {
      EnqueueStatus();  // the EVSE is back and reports its connector
    }
    return;
  }
  if (tx_ && !immediate) {  // OnIdle: wait for the transaction to end
    reboot_scheduled_ = true;
    response.status = v201::ResetStatusEnum::kScheduled;
    CSMS_LOG(kInfo, kLog) << Tag() << "reboot scheduled for the end of transaction " << tx_->id;
    return Reply(frame.message_id, ocpp::Encode(response));
  }
  response.status = v201::ResetStatusEnum::kAccepted;
  Reply(frame.message_id, ocpp::Encode(response));
  // Immediate (or OnIdle when idle): the transaction ends with ImmediateReset first.
  if (tx_) EndTransaction("ResetCommand", "ImmediateReset");
  BeginReboot();
}

void Charger::BeginReboot() {
  reboot_scheduled_ = false;
  if (reboot_draining_ || rebooting_) return;
  CSMS_LOG(kInfo, kLog) << Tag() << "rebooting (Reset)";
  if (!connected_) return CompleteReboot();
  // Pump() sends the queued transaction events first, then MaybeFinishRebootDrain() closes.
  reboot_draining_ = true;
}

void Charger::MaybeFinishRebootDrain() {
  if (!reboot_draining_ || in_flight_) return;
  if (boot_state_ == BootState::kAccepted) {
    auto first = std::find_if(queue_.begin(), queue_.end(),
                              [](const QueuedCall& c) { return c.is_transaction_event; });
    // One not tried yet still goes out now; one waiting for a retry is re-sent after the reboot
    // (B12.FR.05).
    if (first != queue_.end() && first->attempts == 0) return;
  }
  reboot_draining_ = false;
  rebooting_ = true;
  reconnect_pending_ = true;  // no new CALL on a connection that is about to close
  reboot_requested_ = true;
  CSMS_LOG(kInfo, kLog) << Tag() << "closing the connection to reboot";
}

void Charger::CompleteReboot() {
  reboot_scheduled_ = false;
  reboot_draining_ = false;
  rebooting_ = false;
  reboot_requested_ = false;
  // A fresh start: BootNotification again (reason RemoteReset), then the usual boot sequence.
  // Availability, charging limits and the device model's values stay (DIGEST 5.8).
  boot_state_ = BootState::kNone;
  boot_reason_ = firmware_reboot_ ? "FirmwareUpdate" : "RemoteReset";
  firmware_reboot_ = false;
  boot_retry_at_.reset();
  next_heartbeat_at_.reset();
  model_.ApplyPending();
  CSMS_LOG(kInfo, kLog) << Tag() << "rebooted; " << queue_.size()
                        << " transaction event(s) kept for after the boot";
}

}  // namespace csms::sim
