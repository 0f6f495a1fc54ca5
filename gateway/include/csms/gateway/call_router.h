#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

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
};

struct RouterOptions {
  bool strict = false;  // refuse the seed simulator's dialect
  // Check every inbound payload against the OCA 2.0.1 JSON schemas (off only to measure).
  bool validate_schemas = true;
  // Sent with Pending when control cannot be reached during a BootNotification.
  int backend_down_retry_interval_s = 10;
};

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
  std::unordered_map<std::string, Handler> handlers_;
};

// What control learns about a TransactionEvent once billing has stored it.
control::v1::TransactionEventReport MakeTransactionReport(
    const ocpp::v1::TransactionEvent& event,
    const billing::v1::RecordTransactionEventResponse& response);

}  // namespace csms::gateway
