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
#include "csms/gateway/backend.h"

namespace csms::gateway {

// Backend over gRPC to control and billing. Reports that fail are retried with backoff from a
// background thread (bounded); last-seen times are batched and flushed every second.
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

  // Sends what is batched and stops the background thread.
  void Stop();

 private:
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
  std::unique_ptr<billing::v1::BillingService::Stub> billing_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Report>> retries_;
  std::unordered_map<std::string, control::v1::LastSeen> last_seen_;
  bool stopping_ = false;
  std::thread background_;
};

}  // namespace csms::gateway
