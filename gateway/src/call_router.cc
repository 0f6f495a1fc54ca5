#include "csms/gateway/call_router.h"

#include <cmath>

#include "csms/common/log.h"
#include "csms/common/ocpp_actions.h"
#include "csms/common/ocpp_schema.h"
#include "csms/gateway/normalize.h"
#include "csms/gateway/payload_check.h"

namespace csms::gateway {
namespace {

namespace ec = ocpp::error_code;
using nlohmann::json;

// Station-to-CSMS notifications whose response is an empty object: acknowledged and logged.
constexpr const char* kAcknowledgeOnly[] = {"ClearedChargingLimit",
                                            "FirmwareStatusNotification",
                                            "LogStatusNotification",
                                            "NotifyChargingLimit",
                                            "NotifyCustomerInformation",
                                            "NotifyDisplayMessages",
                                            "NotifyMonitoringReport",
                                            "NotifyReport",
                                            "PublishFirmwareStatusNotification",
                                            "ReportChargingProfiles",
                                            "ReservationStatusUpdate",
                                            "SecurityEventNotification"};

// Messages a charger may send before it is Accepted (B02.FR.09: reports the CSMS asked for).
bool AllowedBeforeAccepted(const std::string& action) {
  return action == "BootNotification" || action == "NotifyReport" ||
         action == "NotifyMonitoringReport";
}

control::v1::StatusReport MakeStatusReport(const StationContext& station, const StatusInfo& info) {
  control::v1::StatusReport report;
  report.set_charger_id(station.charger_id);
  report.set_connection_id(station.connection_id);
  report.set_evse_id(info.evse_id);
  report.set_connector_id(info.connector_id);
  report.set_status(info.connector_status);
  *report.mutable_timestamp() = ToProto(info.timestamp);
  return report;
}

}  // namespace

control::v1::TransactionEventReport MakeTransactionReport(
    const ocpp::v1::TransactionEvent& event,
    const billing::v1::RecordTransactionEventResponse& response) {
  control::v1::TransactionEventReport report;
  *report.mutable_event() = event;
  report.set_energy_consumed_kwh(response.session().energy_consumed_kwh());
  report.set_total_cost(response.session().cost());
  report.set_currency(response.session().currency());
  return report;
}

namespace {

std::string GrpcFailure(const grpc::Status& status) {
  return std::to_string(static_cast<int>(status.error_code())) + " " + status.error_message();
}

}  // namespace

Registration RegistrationFromString(const std::string& status) {
  if (status == "Accepted") return Registration::kAccepted;
  if (status == "Pending") return Registration::kPending;
  if (status == "Rejected") return Registration::kRejected;
  return Registration::kNotBooted;
}

ReplySummary SummarizeReply(std::string_view frame) {
  ReplySummary summary;
  // [3,"id",{...}] or [4,"id","Code","description",{...}]: strings are JSON-escaped, so the
  // first unescaped quote ends each.
  auto string_at = [&frame](size_t open) -> std::pair<std::string_view, size_t> {
    if (open >= frame.size() || frame[open] != '"') return {{}, std::string_view::npos};
    for (size_t i = open + 1; i < frame.size(); ++i) {
      if (frame[i] == '\\') {
        ++i;
      } else if (frame[i] == '"') {
        return {frame.substr(open + 1, i - open - 1), i + 1};
      }
    }
    return {{}, std::string_view::npos};
  };
  if (frame.size() < 4 || frame[0] != '[') return summary;
  summary.is_error = frame[1] == '4';
  auto [id, after_id] = string_at(3);
  summary.message_id = id;
  if (summary.is_error && after_id != std::string_view::npos) {
    summary.error_code = string_at(after_id + 1).first;
  }
  return summary;
}

ActionMetrics* CallRouter::MakeActionMetrics(const std::string& action) {
  auto& registry = metrics::Registry::Default();
  auto& messages = registry.AddCounter(
      "csms_ocpp_messages_total",
      "OCPP CALLs from chargers answered, by action and result (CALLRESULT or CALLERROR).",
      {"action", "result"});
  auto& seconds = registry.AddHistogram(
      "csms_ocpp_message_handling_seconds",
      "Time from receiving a charger's CALL to its answer (backend round trips included), by "
      "action, seconds.",
      {"action"});
  auto m = std::make_unique<ActionMetrics>();
  m->action = action;
  m->results = &messages.Labels({action, "CALLRESULT"});
  m->errors = &messages.Labels({action, "CALLERROR"});
  m->seconds = &seconds.Labels({action});
  m->error_codes = &registry.AddCounter("csms_ocpp_call_errors_total",
                                        "CALLERRORs sent to chargers, by action and error code.",
                                        {"action", "code"});
  action_metrics_.push_back(std::move(m));
  return action_metrics_.back().get();
}

ActionMetrics* CallRouter::UnhandledMetrics(const std::string& action) {
  const std::string label = ocpp::IsOcpp201Action(action) ? action : "unknown";
  std::lock_guard lock(unhandled_mu_);
  auto& slot = unhandled_[label];
  if (slot == nullptr) slot = MakeActionMetrics(label);
  return slot;
}

CallRouter::CallRouter(Backend& backend, const Clock& clock, RouterOptions options, Outbox* outbox)
    : backend_(backend),
      outbox_(outbox),
      clock_(clock),
      options_(options),
      schemas_(options.validate_schemas ? &ocpp::SchemaSet::Ocpp201() : nullptr) {
  const std::pair<const char*, Handler> routes[] = {
      {"BootNotification", &CallRouter::OnBootNotification},
      {"Heartbeat", &CallRouter::OnHeartbeat},
      {"StatusNotification", &CallRouter::OnStatusNotification},
      {"TransactionEvent", &CallRouter::OnTransactionEvent},
      {"Authorize", &CallRouter::OnAuthorize},
      {"MeterValues", &CallRouter::OnMeterValues},
      {"DataTransfer", &CallRouter::OnAcknowledgeOnly},
      {"NotifyEvent", &CallRouter::OnNotifyEvent},
  };
  for (const auto& [action, handler] : routes) {
    handlers_[action] = Route{handler, MakeActionMetrics(action)};
  }
  for (const char* action : kAcknowledgeOnly) {
    handlers_[action] = Route{&CallRouter::OnAcknowledgeOnly, MakeActionMetrics(action)};
  }
}

void CallRouter::Handle(const std::shared_ptr<StationContext>& station, ocpp::Frame call,
                        Reply reply) {
  auto it = handlers_.find(call.action);
  ActionMetrics* m = it != handlers_.end() ? it->second.metrics : UnhandledMetrics(call.action);
  // Every answer is counted, timed and logged once, whichever path produces it.
  reply = [m, station, started = std::chrono::steady_clock::now(),
           reply = std::move(reply)](std::string frame) {
    m->seconds->ObserveSince(started);
    const ReplySummary summary = SummarizeReply(frame);
    const log::Fields fields{station->charger_id, summary.message_id, m->action};
    if (summary.is_error) {
      m->errors->Inc();
      m->error_codes->Labels({m->action, std::string(summary.error_code)}).Inc();
      CSMS_LOG_WITH(kInfo, "gateway", fields)
          << m->action << " answered with CALLERROR " << log::Sanitize(summary.error_code, 40);
    } else {
      m->results->Inc();
      CSMS_LOG_WITH(kDebug, "gateway", fields) << m->action << " answered with CALLRESULT";
    }
    reply(std::move(frame));
  };
  const TimePoint now = clock_.Now();
  const int64_t now_us = now.time_since_epoch().count();
  constexpr int64_t kSeenResolutionUs = 1'000'000;  // control receives last-seen once a second
  if (now_us - station->seen_reported_us.load(std::memory_order_relaxed) >= kSeenResolutionUs) {
    station->seen_reported_us.store(now_us, std::memory_order_relaxed);
    backend_.StationSeen(station->charger_id, station->connection_id, now);
  }
  if (it == handlers_.end()) {
    if (ocpp::IsOcpp201Action(call.action)) {
      reply(ocpp::SerializeCallError(call.message_id, ec::kNotSupported,
                                     "action " + call.action + " is not supported by this CSMS"));
    } else {
      reply(ocpp::SerializeCallError(
          call.message_id, ec::kNotImplemented,
          "unknown action '" + ocpp::TruncateUtf8(call.action, 64) + "' (not OCPP 2.0.1)"));
    }
    return;
  }
  Registration registration = station->registration.load();
  if ((registration == Registration::kNotBooted || registration == Registration::kPending ||
       registration == Registration::kRejected) &&
      !AllowedBeforeAccepted(call.action)) {
    reply(ocpp::SerializeCallError(
        call.message_id, ec::kSecurityError,
        call.action + " is not allowed before the CSMS has accepted a BootNotification"));
    return;
  }
  // Every payload is checked against the OCA schema, except the seed simulator's dialect, which
  // is recognized first and checked by its own normalizer.
  if (schemas_ != nullptr && !(call.action == "TransactionEvent" && !options_.strict &&
                               DetectTransactionDialect(call.payload) == ocpp::v1::DIALECT_SEED)) {
    if (auto violation =
            schemas_->Validate(call.action, ocpp::PayloadKind::kRequest, call.payload)) {
      reply(ocpp::SerializeCallError(call.message_id, violation->code,
                                     call.action + ": " + violation->description));
      return;
    }
  }
  try {
    (this->*(it->second.handler))(station, call, reply);
  } catch (const PayloadException& e) {
    reply(ocpp::SerializeCallError(call.message_id, e.error.code,
                                   call.action + ": " + e.error.description));
  }
}

void CallRouter::OnBootNotification(const std::shared_ptr<StationContext>& station,
                                    const ocpp::Frame& call, Reply& reply) {
  BootInfo boot = ParseBootNotification(call.payload);
  // Profile 3: the serial number must be the one the certificate was issued for (B01.FR.11/12).
  if (!station->certificate_cn.empty() && !boot.serial_number.empty() &&
      boot.serial_number != station->certificate_cn) {
    CSMS_LOG_WITH(kWarn, "gateway", (log::Fields{station->charger_id, call.message_id}))
        << station->charger_id << " booted with serialNumber '"
        << log::Sanitize(boot.serial_number, 48)
        << "', not the CN of its client certificate; closing the connection";
    station->close_requested = true;
    reply(ocpp::SerializeCallError(
        call.message_id, ec::kSecurityError,
        "chargingStation.serialNumber does not match the client certificate's CN"));
    return;
  }
  control::v1::BootNotificationRequest request;
  request.set_charger_id(station->charger_id);
  request.set_connection_id(station->connection_id);
  request.set_reason(boot.reason);
  request.set_vendor(boot.vendor);
  request.set_model(boot.model);
  request.set_serial_number(boot.serial_number);
  request.set_firmware_version(boot.firmware_version);
  request.set_require_provisioning(options_.require_provisioning);
  backend_.BootNotification(request, [this, station, id = call.message_id,
                                      reply = std::move(reply)](
                                         const grpc::Status& status,
                                         const control::v1::BootNotificationResponse& response) {
    json answer = {{"currentTime", FormatRfc3339(clock_.Now())}};
    if (status.ok()) {
      answer["interval"] = response.interval_seconds();
      answer["status"] = response.status();
      station->registration = RegistrationFromString(response.status());
    } else {
      // Control cannot decide now: Pending makes the charger boot again after the interval
      // instead of failing, and nothing is lost (it sends no transactions while Pending).
      CSMS_LOG_WITH(kWarn, "gateway", (log::Fields{station->charger_id, id, "BootNotification"}))
          << "boot of " << station->charger_id << " answered Pending: control unavailable ("
          << GrpcFailure(status) << ")";
      answer["interval"] = options_.backend_down_retry_interval_s;
      answer["status"] = "Pending";
      station->registration = Registration::kPending;
    }
    reply(ocpp::SerializeCallResult(id, answer));
  });
}

void CallRouter::OnHeartbeat(const std::shared_ptr<StationContext>&, const ocpp::Frame& call,
                             Reply& reply) {
  CheckHeartbeat(call.payload);
  reply(ocpp::SerializeCallResult(call.message_id,
                                  json{{"currentTime", FormatRfc3339(clock_.Now())}}));
}

void CallRouter::OnStatusNotification(const std::shared_ptr<StationContext>& station,
                                      const ocpp::Frame& call, Reply& reply) {
  backend_.ReportStatus(MakeStatusReport(*station, ParseStatusNotification(call.payload)));
  reply(ocpp::SerializeCallResult(call.message_id, json::object()));
}

namespace {
// The answer to a stored TransactionEvent: totalCost on Ended (when billing priced it) and
// idTokenInfo whenever the request carried an idToken.
json TransactionEventAnswer(const ocpp::v1::TransactionEvent& event, bool has_token,
                            const billing::v1::Session* session) {
  json answer = json::object();
  if (session != nullptr && event.event_type() == ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED) {
    answer["totalCost"] = session->cost();
  }
  if (has_token) answer["idTokenInfo"] = {{"status", "Accepted"}};
  return answer;
}
}  // namespace

void CallRouter::OnTransactionEvent(const std::shared_ptr<StationContext>& station,
                                    const ocpp::Frame& call, Reply& reply) {
  ocpp::v1::TransactionEvent event = NormalizeTransactionEvent(
      call.payload, station->charger_id, station->connection_id, clock_.Now(), options_.strict);
  const bool has_token = !event.id_token().empty();
  // Events already waiting in the outbox go first: a new one queues behind them, in order.
  if (outbox_ != nullptr && outbox_->HasBacklog()) {
    return QueueInOutbox(event, call.message_id, has_token, std::move(reply));
  }
  backend_.RecordTransactionEvent(
      event, [this, event, has_token, id = call.message_id, reply = std::move(reply)](
                 const grpc::Status& status,
                 const billing::v1::RecordTransactionEventResponse& response) mutable {
        if (!status.ok()) {
          const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                                   status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
          if (unreachable && outbox_ != nullptr) {
            return QueueInOutbox(event, id, has_token, std::move(reply));
          }
          // Never acknowledge what was not stored: the charger keeps the event and retries.
          CSMS_LOG_WITH(kWarn, "gateway", (log::Fields{event.charger_id(), id, "TransactionEvent"}))
              << "TransactionEvent " << log::Sanitize(event.transaction_id(), 40) << " of "
              << event.charger_id() << " not stored: " << GrpcFailure(status);
          reply(ocpp::SerializeCallError(
              id, ec::kInternalError,
              "the event could not be stored durably right now; please retry"));
          return;
        }
        backend_.ReportTransactionEvent(MakeTransactionReport(event, response));
        reply(ocpp::SerializeCallResult(
            id, TransactionEventAnswer(event, has_token, &response.session())));
      });
}

void CallRouter::QueueInOutbox(const ocpp::v1::TransactionEvent& event,
                               const std::string& message_id, bool has_token, Reply reply) {
  outbox_->Append(event, [event, has_token, message_id, reply = std::move(reply)](bool durable) {
    if (!durable) {
      reply(ocpp::SerializeCallError(message_id, ec::kInternalError,
                                     "the event could not be stored durably right now; please "
                                     "retry"));
      return;
    }
    // Stored on this gateway's disk; billing gets it when it is back (and prices it then).
    reply(ocpp::SerializeCallResult(message_id, TransactionEventAnswer(event, has_token, nullptr)));
  });
}

void CallRouter::OnAuthorize(const std::shared_ptr<StationContext>&, const ocpp::Frame& call,
                             Reply& reply) {
  CheckAuthorize(call.payload);
  // Every token is accepted until token management exists; the answer is still schema-exact.
  reply(
      ocpp::SerializeCallResult(call.message_id, json{{"idTokenInfo", {{"status", "Accepted"}}}}));
}

void CallRouter::OnMeterValues(const std::shared_ptr<StationContext>&, const ocpp::Frame& call,
                               Reply& reply) {
  CheckMeterValues(call.payload);
  reply(ocpp::SerializeCallResult(call.message_id, json::object()));
}

void CallRouter::OnNotifyEvent(const std::shared_ptr<StationContext>& station,
                               const ocpp::Frame& call, Reply& reply) {
  // A station may report connector status as a NotifyEvent (Connector.AvailabilityState)
  // instead of a StatusNotification (G01.FR.03-07); both must update the connector.
  for (const auto& info : ConnectorStatusesFromNotifyEvent(call.payload)) {
    backend_.ReportStatus(MakeStatusReport(*station, info));
  }
  reply(ocpp::SerializeCallResult(call.message_id, json::object()));
}

void CallRouter::OnAcknowledgeOnly(const std::shared_ptr<StationContext>& station,
                                   const ocpp::Frame& call, Reply& reply) {
  PayloadCheck p(call.payload, "");
  CSMS_LOG_WITH(kInfo, "gateway", (log::Fields{station->charger_id, call.message_id, call.action}))
      << call.action << " from " << station->charger_id << " acknowledged";
  if (call.action == "DataTransfer") {
    p.RequiredString("vendorId", 255);
    reply(ocpp::SerializeCallResult(call.message_id, json{{"status", "UnknownVendorId"}}));
    return;
  }
  reply(ocpp::SerializeCallResult(call.message_id, json::object()));
}

}  // namespace csms::gateway
