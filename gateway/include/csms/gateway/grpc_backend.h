#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "csms/billing/v1/billing.grpc.pb.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/control/v1/reservations.grpc.pb.h"
#include "csms/gateway/backend.h"

namespace csms::gateway {

// Bounds the calls in flight to a service. Beyond the limit, calls wait here (a few bytes each)
// instead of in gRPC (several KiB each) and instead of piling onto a service that is already
// behind: under a reconnect storm the service keeps answering within its deadlines rather than
// timing out everything, and retries do not multiply the load.
class CallWindow {
 public:
  CallWindow(size_t limit, std::chrono::milliseconds max_wait)
      : limit_(limit), max_wait_(max_wait) {}
  // Runs start(true) now or once a slot is free; the call must then Release() when it ends. A
  // call that waited longer than max_wait gets start(false) instead and must fail without
  // sending: its charger is better told to come back later than answered after its own timeout.
  void Submit(std::function<void(bool)> start);
  void Release();
  size_t waiting() const;

 private:
  struct Waiting {
    std::function<void(bool)> start;
    std::chrono::steady_clock::time_point since;
  };
  mutable std::mutex mu_;
  const size_t limit_;
  const std::chrono::milliseconds max_wait_;
  size_t in_flight_ = 0;
  std::deque<Waiting> waiting_;
};

// Backend over gRPC to control and billing. Reports that fail are retried with backoff from a
// background thread (bounded); last-seen times are batched and flushed every second.
//
// Under load the per-message RPCs would cost more CPU than everything else the gateway does, so
// reports to control and TransactionEvents to billing are batched adaptively: a call goes out at
// once while fewer than a few calls are in flight (no added latency when quiet); otherwise
// items wait for the next free slot and leave together in one ReportBatch /
// RecordTransactionEvents call. Reports, which no charger waits for, also leave at most once per
// short interval under load, so their batches are bigger still. Against a service without the batch
// RPC (a rolling update) it falls back to one call per item.
class GrpcBackend : public Backend {
 public:
  GrpcBackend(std::shared_ptr<grpc::Channel> control, std::shared_ptr<grpc::Channel> billing);
  ~GrpcBackend() override;

  void StationConnected(const control::v1::StationConnectedRequest& request,
                        Completion<control::v1::StationConnectedResponse> done) override;
  void StationDisconnected(const control::v1::StationDisconnectedRequest& request) override;
  void BootNotification(const control::v1::BootNotificationRequest& request,
                        Completion<control::v1::BootNotificationResponse> done) override;
  void ReportStatus(const control::v1::StatusReport& report) override;
  void StationSeen(const std::string& charger_id, const std::string& connection_id,
                   TimePoint at) override;
  void RecordTransactionEvent(
      const ocpp::v1::TransactionEvent& event,
      Completion<billing::v1::RecordTransactionEventResponse> done) override;
  void ReportTransactionEvent(const control::v1::TransactionEventReport& report) override;
  void RecordReportPart(control::v1::ReportPartRequest part,
                        Completion<control::v1::ReportResponse> done) override;
  void RecordChargerEvents(std::vector<control::v1::ChargerEvent> events,
                           Completion<control::v1::ReportResponse> done) override;
  void AuthenticateStation(const control::v1::AuthenticateStationRequest& request,
                           Completion<control::v1::AuthenticateStationResponse> done) override;
  void AuthorizeToken(const control::v1::AuthorizeTokenRequest& request,
                      Completion<control::v1::AuthorizeTokenResponse> done) override;
  void RecordReservationStatus(
      const control::v1::RecordReservationStatusRequest& request,
      Completion<control::v1::RecordReservationStatusResponse> done) override;

  // Sends what is batched and stops the background thread.
  void Stop();

 private:
  struct PendingEvent {
    ocpp::v1::TransactionEvent event;
    Completion<billing::v1::RecordTransactionEventResponse> done;
  };
  struct PendingDecision {
    control::v1::AuthorizeTokenRequest request;
    Completion<control::v1::AuthorizeTokenResponse> done;
  };
  // Reports that a ReportBatch call failed to deliver, waiting for their next attempt.
  struct ReportRetry {
    std::vector<control::v1::Report> reports;
    int attempt = 0;
    std::chrono::steady_clock::time_point due;
  };
  template <typename Request, typename Response, typename Start>
  void Issue(Start&& start, Request request, std::chrono::milliseconds timeout,
             Completion<Response> done);
  // Issue() through `window` (control_window_, auth_window_, event_log_window_ or report_window_).
  template <typename Request, typename Response, typename Start>
  void IssueToControl(CallWindow& window, Start start, Request request, Completion<Response> done,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  void QueueReport(control::v1::Report report);
  // Sends queued reports / events while a call slot is free. Call without mu_ held.
  void PumpReports();
  // Queues the status reports held back for `connection_id` (its StationConnected is done).
  void ReleaseHeldReports(const std::string& connection_id);
  void PumpEvents();
  void SendReportBatch(std::vector<control::v1::Report> reports, int attempt);
  void OnReportBatchDone(std::vector<control::v1::Report> reports, int attempt,
                         const grpc::Status& status);
  void SendEventBatch(std::vector<PendingEvent> events);
  // One unary call per item, for services that predate the batch RPCs.
  void SendReportUnary(const control::v1::Report& report);
  void SendEventUnary(PendingEvent pending);
  // TransactionEvents' token decisions, batched like the events (AuthorizeTokens).
  void PumpDecisions();
  void SendDecisionBatch(std::vector<PendingDecision> decisions);
  void SendDecisionUnary(PendingDecision pending);

  // A fire-and-forget report: `send` issues it once and calls back with the result.
  struct Report {
    std::string what;
    std::function<void(std::function<void(const grpc::Status&)>)> send;
    int attempt = 0;
    std::chrono::steady_clock::time_point due;
  };
  template <typename Request, typename Response, typename Invoke>
  std::shared_ptr<Report> MakeControlReport(std::string what, Request request, Invoke invoke);
  void Send(std::shared_ptr<Report> report);
  void BackgroundLoop();
  void FlushLastSeen();

  std::unique_ptr<control::v1::StationEventService::Stub> control_;
  std::unique_ptr<control::v1::ReservationService::Stub> reservations_;
  std::unique_ptr<billing::v1::BillingService::Stub> billing_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Report>> retries_;
  std::vector<ReportRetry> report_retries_;
  std::vector<control::v1::Report> queued_reports_;
  // Status reports of a connection whose StationConnected control has not confirmed yet: sent
  // after it, or control (which applies a status only for the charger's current connection)
  // would drop the first status of every reconnect.
  std::unordered_map<std::string, std::vector<control::v1::Report>> held_reports_;
  int report_calls_in_flight_ = 0;
  // The earliest time the next report batch may leave, and whether the background thread owes
  // a send at that time (kReportBatchInterval in grpc_backend.cc).
  std::chrono::steady_clock::time_point next_report_batch_;
  bool report_batch_scheduled_ = false;
  std::vector<PendingEvent> queued_events_;
  int event_calls_in_flight_ = 0;
  std::vector<PendingDecision> queued_decisions_;
  int decision_calls_in_flight_ = 0;
  std::atomic<bool> decision_batches_{true};  // false once control answered UNIMPLEMENTED
  std::atomic<bool> control_batches_{true};   // false once control answered UNIMPLEMENTED
  std::atomic<bool> billing_batches_{true};
  std::unordered_map<std::string, control::v1::LastSeen> last_seen_;
  bool stopping_ = false;
  std::atomic<int> outstanding_{0};  // calls whose callback has not run yet
  // Connections, boots and their retries: what a reconnect storm multiplies.
  CallWindow control_window_{256, std::chrono::seconds(8)};
  // Handshake checks apart: a password check can take control ~20 ms of CPU (PBKDF2), and a
  // storm of them must not hold the slots that connections and boots of admitted chargers need.
  CallWindow auth_window_{64, std::chrono::seconds(8)};
  // Event-log writes apart too: chargers that send their clock-aligned MeterValues at the same
  // instant must not take the slots a reconnect storm's connections and boots need.
  CallWindow event_log_window_{128, std::chrono::seconds(8)};
  // NotifyReport parts (up to 1 MiB each, thousands of variables in a big model): their own
  // slots, so a report storm never takes those of connections and boots.
  CallWindow report_window_{32, std::chrono::seconds(30)};
  std::thread background_;
};

}  // namespace csms::gateway
