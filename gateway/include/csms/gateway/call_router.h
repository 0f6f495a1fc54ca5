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
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/gateway/outbox.h"
#include "csms/gateway/route_table.h"
#include "csms/gateway/router_options.h"
#include "csms/gateway/station_context.h"

namespace csms::gateway {

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

// Routes inbound CALLs through the OCPP 2.0.1 route table (gateway/src/ocpp201/, one file per
// functional block): action → registration gate → schema check → decode → handler → encode →
// check the answer → reply. This class keeps the plumbing every message shares (metrics, logs,
// last-seen, the gate and the CALLERROR mapping); handlers keep none of it. `reply` receives the
// serialized CALLRESULT or CALLERROR, exactly once, possibly from another thread.
class CallRouter {
 public:
  using Reply = ReplyFn;

  // `outbox` (may be null) keeps TransactionEvents durable while billing is unreachable.
  CallRouter(Backend& backend, const Clock& clock, RouterOptions options, Outbox* outbox = nullptr);

  void Handle(const std::shared_ptr<StationContext>& station, ocpp::Frame call, Reply reply);

  // The actions this router handles, sorted.
  std::vector<std::string> Actions() const { return routes_.Actions(); }

 private:
  ActionMetrics* MakeActionMetrics(const std::string& action);
  // For actions without a handler: the OCPP 2.0.1 name, or "unknown" for anything else.
  ActionMetrics* UnhandledMetrics(const std::string& action);
  // Whether a charger that is not Accepted may send this (B02.FR.09, DIGEST §2.7).
  bool PassesRegistrationGate(const StationContext& station, const Route& route) const;

  Backend& backend_;
  const Clock& clock_;
  RouterOptions options_;
  const ocpp::SchemaSet* schemas_;  // null when validation is off
  ocpp201::BlockContext blocks_;    // what the handlers share; outlives the routes
  RouteTable routes_;
  // Action -> its route and metrics: one lookup per message, keyed by the frame's own string.
  struct Dispatch {
    const Route* route;
    ActionMetrics* metrics;
  };
  std::unordered_map<std::string, Dispatch> dispatch_;
  std::mutex unhandled_mu_;
  std::unordered_map<std::string, ActionMetrics*> unhandled_;
  std::vector<std::unique_ptr<ActionMetrics>> action_metrics_;
};

// What control learns about a TransactionEvent once billing has stored it.
control::v1::TransactionEventReport MakeTransactionReport(
    const ocpp::v1::TransactionEvent& event,
    const billing::v1::RecordTransactionEventResponse& response);

}  // namespace csms::gateway
