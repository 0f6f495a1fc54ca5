#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "csms/control/authorization.h"
#include "csms/control/charger_link_client.h"
#include "csms/control/credential_store.h"
#include "csms/control/decisions.h"
#include "csms/control/device_model_store.h"
#include "csms/control/log_upload_store.h"
#include "csms/control/password_hash.h"
#include "csms/control/remote_start_store.h"
#include "csms/control/station_store.h"
#include "csms/control/token_session_store.h"
#include "csms/control/token_store.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/control/waiter.h"
#include "csms/control/work_queue.h"
#include "csms/control/write_batcher.h"

namespace csms::control {

// What the gateways report about their chargers: connections, boots, statuses, transactions.
// Callback API: a call waiting for its batch to commit holds no thread, so thousands of
// concurrent reports (a reconnect storm) cost memory, not threads. Every answer comes after the
// write committed.
class StationEventServiceImpl final
    : public csms::control::v1::StationEventService::CallbackService {
 public:
  // `store` answers AuthenticateStation (UNAVAILABLE without one); `password_cache` tunes the
  // memory of recent password successes (TTL, size; tests inject the slow check).
  StationEventServiceImpl(WriteBatcher& batcher, ChargerLinkClient& link, EventWaiter& waiter,
                          int heartbeat_interval_seconds, CredentialStore* store = nullptr,
                          int auth_threads = 2,
                          CachedPasswordVerifier::Options password_cache = {});
  ~StationEventServiceImpl() override;

  grpc::ServerUnaryReactor* StationConnected(
      grpc::CallbackServerContext* context,
      const csms::control::v1::StationConnectedRequest* request,
      csms::control::v1::StationConnectedResponse* response) override;
  grpc::ServerUnaryReactor* StationDisconnected(
      grpc::CallbackServerContext* context,
      const csms::control::v1::StationDisconnectedRequest* request,
      csms::control::v1::StationDisconnectedResponse* response) override;
  grpc::ServerUnaryReactor* BootNotification(
      grpc::CallbackServerContext* context,
      const csms::control::v1::BootNotificationRequest* request,
      csms::control::v1::BootNotificationResponse* response) override;
  grpc::ServerUnaryReactor* ReportStatus(grpc::CallbackServerContext* context,
                                         const csms::control::v1::StatusReport* request,
                                         csms::control::v1::ReportResponse* response) override;
  grpc::ServerUnaryReactor* ReportLastSeen(grpc::CallbackServerContext* context,
                                           const csms::control::v1::LastSeenBatch* request,
                                           csms::control::v1::ReportResponse* response) override;
  grpc::ServerUnaryReactor* ReportTransactionEvent(
      grpc::CallbackServerContext* context,
      const csms::control::v1::TransactionEventReport* request,
      csms::control::v1::ReportResponse* response) override;
  grpc::ServerUnaryReactor* ReportBatch(grpc::CallbackServerContext* context,
                                        const csms::control::v1::ReportBatchRequest* request,
                                        csms::control::v1::ReportResponse* response) override;
  grpc::ServerUnaryReactor* AuthenticateStation(
      grpc::CallbackServerContext* context,
      const csms::control::v1::AuthenticateStationRequest* request,
      csms::control::v1::AuthenticateStationResponse* response) override;
  grpc::ServerUnaryReactor* RecordChargerEvents(
      grpc::CallbackServerContext* context,
      const csms::control::v1::RecordChargerEventsRequest* request,
      csms::control::v1::ReportResponse* response) override;
  // UNAVAILABLE until set_authorization.
  grpc::ServerUnaryReactor* AuthorizeToken(
      grpc::CallbackServerContext* context, const csms::control::v1::AuthorizeTokenRequest* request,
      csms::control::v1::AuthorizeTokenResponse* response) override;
  grpc::ServerUnaryReactor* AuthorizeTokens(
      grpc::CallbackServerContext* context,
      const csms::control::v1::AuthorizeTokensRequest* request,
      csms::control::v1::AuthorizeTokensResponse* response) override;
  // UNAVAILABLE until set_device_model.
  grpc::ServerUnaryReactor* RecordReportPart(grpc::CallbackServerContext* context,
                                             const csms::control::v1::ReportPartRequest* request,
                                             csms::control::v1::ReportResponse* response) override;

  // Where NotifyReport parts go, written by `writers` threads of their own (a 1 MiB part never
  // waits behind, or holds up, the gateways' batched reports).
  void set_device_model(DeviceModelStore* store, int writers = 2);
  // Where each gateway's --public-base-url (StationConnected) is kept for log upload URLs.
  void set_log_uploads(LogUploadStore* store) { log_uploads_ = store; }
  // Where Authorize is decided: the token store, the charger's station and the CSMS's own remote
  // starts, on `threads` threads of their own (lookups block on the database).
  struct Authorization {
    TokenStore* tokens = nullptr;
    StationStore* stations = nullptr;
    RemoteStartStore* remote_starts = nullptr;
    // TransactionEvents' tokens (E05, ConcurrentTx); null: decided like Authorize.
    TokenSessionStore* token_sessions = nullptr;
    AuthorizeOptions options;
    // How long after a remote start its Central token is accepted from that charger.
    std::chrono::seconds remote_start_window{120};
  };
  void set_authorization(Authorization authorization, int threads = 4);
  // Runs after a NotifyReport part completed its report (the device model fetcher's Wake: its
  // slot is free now).
  void set_on_report_complete(std::function<void()> callback) {
    on_report_complete_ = std::move(callback);
  }

 private:
  void RememberGatewayUrl(const std::string& gateway_address, const std::string& url);
  // One Authorize or TransactionEvent token decision; throws RpcError for a bad request.
  void Decide(const csms::control::v1::AuthorizeTokenRequest& request,
              csms::control::v1::AuthorizeTokenResponse* response);
  // Runs `decide` on an authorizer thread and finishes the call with its status; sheds a flood.
  grpc::ServerUnaryReactor* SubmitAuthorization(grpc::CallbackServerContext* context,
                                                std::function<grpc::Status()> decide);
  // A batch of decisions, each with its own result; TransactionEvents' tokens share one read.
  void DecideAll(const csms::control::v1::AuthorizeTokensRequest& request,
                 csms::control::v1::AuthorizeTokensResponse* response);
  // A TransactionEvent token's decision as answered (and logged when flagged).
  void AnswerTransactionToken(const csms::control::v1::AuthorizeTokenRequest& request,
                              const AuthorizeDecision& decision,
                              csms::control::v1::AuthorizeTokenResponse* response);
  // A provisioned charger's refused login goes into its event log (CsmsSecurityEvent).
  void RecordRefusal(const csms::control::v1::AuthenticateStationRequest& request,
                     const StationAuthDecision& decision);
  // Queues `op`; once committed runs `then` (which may throw RpcError) and finishes the call.
  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context, const char* rpc, WriteOp op,
                                  std::function<void(const WriteResult&)> then);

  WriteBatcher& batcher_;
  ChargerLinkClient& link_;
  EventWaiter& waiter_;
  int heartbeat_interval_seconds_;
  CredentialStore* store_;
  DeviceModelStore* device_model_ = nullptr;
  LogUploadStore* log_uploads_ = nullptr;
  Authorization authorization_;
  std::unique_ptr<WorkQueue> authorizers_;
  std::function<void()> on_report_complete_;
  // (gateway address, public base URL) pairs already stored by this replica.
  std::mutex gateway_urls_mu_;
  std::set<std::pair<std::string, std::string>> gateway_urls_;
  std::unique_ptr<WorkQueue> report_writers_;
  CachedPasswordVerifier passwords_;
  // PBKDF2 takes tens of milliseconds of CPU and the lookup blocks on the database: both run
  // here, never on gRPC's callback threads.
  std::mutex auth_mu_;
  std::condition_variable auth_cv_;
  std::deque<std::function<void()>> auth_queue_;
  bool auth_stopping_ = false;
  std::vector<std::thread> auth_threads_;
};

}  // namespace csms::control
