#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "csms/common/metrics.h"
#include "csms/common/ocpp_frame.h"
#include "csms/common/ocpp_schema.h"
#include "csms/common/time_util.h"
#include "csms/gateway/backend.h"
#include "csms/gateway/outbox.h"

namespace csms::gateway {

// Registration state of a charger as this connection knows it (OCPP 2.0.1 B02/B03).
enum class Registration { kUnknown, kNotBooted, kAccepted, kPending, kRejected };
Registration RegistrationFromString(const std::string& status);

// What a handler knows about the charger it serves. Shared between the connection and the
// completions of its pending backend calls.
struct StationContext {
  std::string charger_id;
  std::string connection_id;
  std::atomic<Registration> registration{Registration::kUnknown};
  // When last-seen was last handed to the backend (µs since the epoch). Reporting at most once
  // a second per station keeps the backend's shared map off the per-message path.
  std::atomic<int64_t> seen_reported_us{0};
  // Security profile 3: the CN of the verified client certificate (empty otherwise).
  std::string certificate_cn;
  // Set by the router when the connection must end after its reply is written (B01.FR.12).
  std::atomic<bool> close_requested{false};
};

struct RouterOptions {
  bool strict = false;  // refuse the seed simulator's dialect
  // Check every inbound payload against the OCA 2.0.1 JSON schemas (off only to measure).
  bool validate_schemas = true;
  // Sent with Pending when control cannot be reached during a BootNotification.
  int backend_down_retry_interval_s = 10;
  // Control answers Rejected to the BootNotification of a charger that is not provisioned.
  bool require_provisioning = false;
};

// The message metrics of one action, looked up once (not per message).
struct ActionMetrics {
  std::string action;
  metrics::Counter* results = nullptr;    // csms_ocpp_messages_total{action,result="CALLRESULT"}
  metrics::Counter* errors = nullptr;     // ... result="CALLERROR"
  metrics::Histogram* seconds = nullptr;  // csms_ocpp_message_handling_seconds{action}
  metrics::Family<metrics::Counter>* error_codes = nullptr;  // csms_ocpp_call_errors_total
};

// The frame's message id and, for a CALLERROR, its error code (empty otherwise); views into
// `frame` as serialized by ocpp::SerializeCallResult / SerializeCallError.
struct ReplySummary {
  bool is_error = false;
  std::string_view message_id;
  std::string_view error_code;
};
ReplySummary SummarizeReply(std::string_view frame);

// Routes inbound CALLs: action → validate → normalize → handler → reply. One declarative table;
// no handler repeats the plumbing. `reply` receives the serialized CALLRESULT or CALLERROR,
// exactly once, possibly from another thread.
class CallRouter {
 public:
  using Reply = std::function<void(std::string frame)>;

  // `outbox` (may be null) keeps TransactionEvents durable while billing is unreachable.
  CallRouter(Backend& backend, const Clock& clock, RouterOptions options, Outbox* outbox = nullptr);

  void Handle(const std::shared_ptr<StationContext>& station, ocpp::Frame call, Reply reply);

 private:
  using Handler = void (CallRouter::*)(const std::shared_ptr<StationContext>&, const ocpp::Frame&,
                                       Reply&);
  struct Route {
    Handler handler;
    ActionMetrics* metrics;
  };
  ActionMetrics* MakeActionMetrics(const std::string& action);
  // For actions without a handler: the OCPP 2.0.1 name, or "unknown" for anything else.
  ActionMetrics* UnhandledMetrics(const std::string& action);
  void OnBootNotification(const std::shared_ptr<StationContext>&, const ocpp::Frame&, Reply&);
  void OnHeartbeat(const std::shared_ptr<StationContext>&, const ocpp::Frame&, Reply&);
  void OnStatusNotification(const std::shared_ptr<StationContext>&, const ocpp::Frame&, Reply&);
  void OnTransactionEvent(const std::shared_ptr<StationContext>&, const ocpp::Frame&, Reply&);
  void OnAuthorize(const std::shared_ptr<StationContext>&, const ocpp::Frame&, Reply&);
  void OnMeterValues(const std::shared_ptr<StationContext>&, const ocpp::Frame&, Reply&);
  void OnNotifyEvent(const std::shared_ptr<StationContext>&, const ocpp::Frame&, Reply&);
  void OnAcknowledgeOnly(const std::shared_ptr<StationContext>&, const ocpp::Frame&, Reply&);

  void QueueInOutbox(const ocpp::v1::TransactionEvent& event, const std::string& message_id,
                     bool has_token, Reply reply);

  Backend& backend_;
  Outbox* outbox_;
  const Clock& clock_;
  RouterOptions options_;
  const ocpp::SchemaSet* schemas_;  // null when validation is off
  std::unordered_map<std::string, Route> handlers_;
  std::mutex unhandled_mu_;
  std::unordered_map<std::string, ActionMetrics*> unhandled_;
  std::vector<std::unique_ptr<ActionMetrics>> action_metrics_;
};

// What control learns about a TransactionEvent once billing has stored it.
control::v1::TransactionEventReport MakeTransactionReport(
    const ocpp::v1::TransactionEvent& event,
    const billing::v1::RecordTransactionEventResponse& response);

}  // namespace csms::gateway
