#include "csms/gateway/call_router.h"

#include "csms/common/log.h"
#include "csms/common/ocpp_actions.h"
#include "csms/common/ocpp_schema.h"
#include "csms/gateway/payload_check.h"

namespace csms::gateway {

namespace ec = ocpp::error_code;

control::v1::TransactionEventReport MakeTransactionReport(
    const ocpp::v1::TransactionEvent& event,
    const billing::v1::RecordTransactionEventResponse& response) {
  control::v1::TransactionEventReport report;
  *report.mutable_event() = event;
  report.set_energy_consumed_kwh(response.session().energy_consumed_kwh());
  report.set_total_cost(response.session().cost());
  report.set_currency(response.session().currency());
  if (response.review_raised()) {
    report.set_review_raised(true);
    report.set_review_reason(response.session().review_reason());
  }
  return report;
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
      clock_(clock),
      options_(options),
      schemas_(options.validate_schemas ? &ocpp::SchemaSet::Ocpp201() : nullptr),
      blocks_{backend_, clock_, options_, outbox},
      routes_(ocpp201::MakeRoutes(blocks_, schemas_)) {
  for (const std::string& action : routes_.Actions()) {
    dispatch_[action] = Dispatch{routes_.Find(action), MakeActionMetrics(action)};
  }
}

bool CallRouter::PassesRegistrationGate(const StationContext& station, const Route& route) const {
  const Registration registration = station.registration.load();
  if (registration != Registration::kNotBooted && registration != Registration::kPending &&
      registration != Registration::kRejected) {
    return true;  // Accepted, or reconnected without a boot after an earlier Accept
  }
  if (route.allowed_before_accepted) return true;
  // What the CSMS itself asked for with a TriggerMessage (B02.FR.09); never while Rejected.
  return registration == Registration::kPending && station.IsTriggered(route.action, clock_.Now());
}

void CallRouter::Handle(const std::shared_ptr<StationContext>& station, ocpp::Frame call,
                        Reply reply) {
  auto found = dispatch_.find(call.action);
  const Route* route = found != dispatch_.end() ? found->second.route : nullptr;
  ActionMetrics* m = route != nullptr ? found->second.metrics : UnhandledMetrics(call.action);
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
  if (route == nullptr) {
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
  if (!PassesRegistrationGate(*station, *route)) {
    reply(ocpp::SerializeCallError(
        call.message_id, ec::kSecurityError,
        call.action + " is not allowed before the CSMS has accepted a BootNotification"));
    return;
  }
  // The schema is the gate: nothing is decoded that did not pass it.
  if (schemas_ != nullptr && !(route->validates_itself && route->validates_itself(call.payload))) {
    if (auto violation =
            schemas_->Validate(call.action, ocpp::PayloadKind::kRequest, call.payload)) {
      reply(ocpp::SerializeCallError(call.message_id, violation->code,
                                     call.action + ": " + violation->description));
      return;
    }
  }
  try {
    route->invoke(station, call, reply);
  } catch (const ocpp::model::DecodeError& e) {
    reply(ocpp::SerializeCallError(call.message_id, e.code(), call.action + ": " + e.what()));
  } catch (const PayloadException& e) {
    reply(ocpp::SerializeCallError(call.message_id, e.error.code,
                                   call.action + ": " + e.error.description));
  }
}

}  // namespace csms::gateway
