#include "csms/gateway/grpc_backend.h"

#include "csms/common/grpc_async.h"
#include "csms/common/log.h"

namespace csms::gateway {
namespace {
constexpr auto kControlTimeout = std::chrono::milliseconds(5000);
constexpr auto kBillingTimeout = std::chrono::milliseconds(10000);
constexpr int kMaxReportAttempts = 8;  // about a minute of backoff in all
constexpr size_t kMaxRetryQueue = 100000;
}  // namespace

GrpcBackend::GrpcBackend(std::shared_ptr<grpc::Channel> control,
                         std::shared_ptr<grpc::Channel> billing)
    : control_(control::v1::StationEventService::NewStub(control)),
      billing_(billing::v1::BillingService::NewStub(billing)),
      background_([this] { BackgroundLoop(); }) {}

GrpcBackend::~GrpcBackend() { Stop(); }

void GrpcBackend::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (background_.joinable()) background_.join();
}

// Builds a retryable report for one control RPC. `invoke` calls the stub method, e.g.
// [](auto* stub, auto... args) { stub->async()->ReportStatus(args...); }.
template <typename Request, typename Response, typename Invoke>
std::shared_ptr<GrpcBackend::Report> GrpcBackend::MakeControlReport(std::string what,
                                                                    Request request,
                                                                    Invoke invoke) {
  auto report = std::make_shared<Report>();
  report->what = std::move(what);
  report->send = [this, request = std::move(request),
                  invoke](std::function<void(const grpc::Status&)> cb) {
    CallUnaryAsync<Request, Response>(
        [this, invoke](auto* ctx, auto* req, auto* resp, auto c) {
          invoke(control_.get(), ctx, req, resp, std::move(c));
        },
        request, kControlTimeout, [cb](const grpc::Status& s, const Response&) { cb(s); });
  };
  return report;
}

namespace {
const auto kInvokeConnected = [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
  stub->async()->StationConnected(ctx, req, resp, std::move(cb));
};
}  // namespace

void GrpcBackend::StationConnected(const control::v1::StationConnectedRequest& request,
                                   Completion<control::v1::StationConnectedResponse> done) {
  CallUnaryAsync<control::v1::StationConnectedRequest, control::v1::StationConnectedResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        kInvokeConnected(control_.get(), ctx, req, resp, std::move(cb));
      },
      request, kControlTimeout,
      [this, request, done = std::move(done)](
          const grpc::Status& status, const control::v1::StationConnectedResponse& response) {
        done(status, response);
        if (status.ok()) return;
        // Control must still learn where the charger is, or commands cannot reach it.
        auto report = MakeControlReport<control::v1::StationConnectedRequest,
                                        control::v1::StationConnectedResponse>(
            "StationConnected " + request.charger_id(), request, kInvokeConnected);
        report->attempt = 1;
        report->due = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        std::lock_guard lock(mu_);
        retries_.push_back(std::move(report));
      });
}

void GrpcBackend::StationDisconnected(const control::v1::StationDisconnectedRequest& request) {
  Send(MakeControlReport<control::v1::StationDisconnectedRequest,
                         control::v1::StationDisconnectedResponse>(
      "StationDisconnected " + request.charger_id(), request,
      [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
        stub->async()->StationDisconnected(ctx, req, resp, std::move(cb));
      }));
}

void GrpcBackend::BootNotification(const control::v1::BootNotificationRequest& request,
                                   Completion<control::v1::BootNotificationResponse> done) {
  CallUnaryAsync<control::v1::BootNotificationRequest, control::v1::BootNotificationResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->BootNotification(ctx, req, resp, std::move(cb));
      },
      request, kControlTimeout, std::move(done));
}

void GrpcBackend::ReportStatus(const control::v1::StatusReport& request) {
  Send(MakeControlReport<control::v1::StatusReport, control::v1::ReportResponse>(
      "StatusNotification " + request.charger_id(), request,
      [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
        stub->async()->ReportStatus(ctx, req, resp, std::move(cb));
      }));
}

void GrpcBackend::StationSeen(const std::string& charger_id, const std::string& connection_id,
                              TimePoint at) {
  std::lock_guard lock(mu_);
  auto& entry = last_seen_[charger_id];
  entry.set_charger_id(charger_id);
  entry.set_connection_id(connection_id);
  *entry.mutable_seen_at() = ToProto(at);
}

void GrpcBackend::RecordTransactionEvent(
    const ocpp::v1::TransactionEvent& event,
    Completion<billing::v1::RecordTransactionEventResponse> done) {
  billing::v1::RecordTransactionEventRequest request;
  *request.mutable_event() = event;
  CallUnaryAsync<billing::v1::RecordTransactionEventRequest,
                 billing::v1::RecordTransactionEventResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->RecordTransactionEvent(ctx, req, resp, std::move(cb));
      },
      std::move(request), kBillingTimeout, std::move(done));
}

void GrpcBackend::ReportTransactionEvent(const control::v1::TransactionEventReport& request) {
  Send(MakeControlReport<control::v1::TransactionEventReport, control::v1::ReportResponse>(
      "TransactionEvent " + request.event().transaction_id(), request,
      [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
        stub->async()->ReportTransactionEvent(ctx, req, resp, std::move(cb));
      }));
}

void GrpcBackend::Send(std::shared_ptr<Report> report) {
  ++report->attempt;
  report->send([this, report](const grpc::Status& status) {
    if (status.ok()) return;
    if (report->attempt >= kMaxReportAttempts) {
      CSMS_LOG(kError, "gateway") << "gave up reporting " << report->what << " to control after "
                                  << report->attempt << " attempts: " << status.error_message();
      return;
    }
    CSMS_LOG(kWarn, "gateway") << "reporting " << report->what << " failed ("
                               << status.error_message() << "); will retry";
    report->due = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(250) * (1 << std::min(report->attempt, 5));
    std::lock_guard lock(mu_);
    if (retries_.size() < kMaxRetryQueue) retries_.push_back(report);
  });
}

void GrpcBackend::FlushLastSeen() {
  control::v1::LastSeenBatch batch;
  {
    std::lock_guard lock(mu_);
    if (last_seen_.empty()) return;
    for (auto& [id, entry] : last_seen_) *batch.add_entries() = std::move(entry);
    last_seen_.clear();
  }
  CallUnaryAsync<control::v1::LastSeenBatch, control::v1::ReportResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ReportLastSeen(ctx, req, resp, std::move(cb));
      },
      std::move(batch), kControlTimeout,
      [](const grpc::Status& status, const control::v1::ReportResponse&) {
        // Losing one batch only delays last-seen by a second; the next batch repeats it.
        if (!status.ok()) {
          CSMS_LOG(kDebug, "gateway") << "last-seen batch failed: " << status.error_message();
        }
      });
}

void GrpcBackend::BackgroundLoop() {
  auto next_flush = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    std::vector<std::shared_ptr<Report>> due;
    bool stopping;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
      stopping = stopping_;
      auto now = std::chrono::steady_clock::now();
      for (auto it = retries_.begin(); it != retries_.end();) {
        if ((*it)->due <= now) {
          due.push_back(std::move(*it));
          it = retries_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& report : due) Send(std::move(report));
    if (stopping || std::chrono::steady_clock::now() >= next_flush) {
      FlushLastSeen();
      next_flush = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    if (stopping) return;
  }
}

}  // namespace csms::gateway
