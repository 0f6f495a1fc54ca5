#include "csms/gateway/grpc_backend.h"

#include <algorithm>
#include <iterator>
#include <type_traits>

#include "csms/common/grpc_async.h"
#include "csms/common/log.h"

namespace csms::gateway {
namespace {
constexpr auto kControlTimeout = std::chrono::milliseconds(5000);
// A part of 10,000 variables takes its writer a while, and parts of many chargers queue.
constexpr auto kReportPartTimeout = std::chrono::milliseconds(20000);
constexpr auto kBillingTimeout = std::chrono::milliseconds(10000);
constexpr int kMaxReportAttempts = 8;  // about a minute of backoff in all
constexpr size_t kMaxRetryQueue = 100000;
// Batch calls in flight per service before items wait for a slot, and items per call. Two: one
// being stored while the next fills, so batches grow with the load instead of splitting it four
// ways (on one core: p50 at 1,000 TransactionEvents/s 25 -> 16 ms, closed loop +15%; on two
// cores no loss; docs/BENCHMARKS.md).
constexpr int kMaxCallsInFlight = 2;
constexpr size_t kMaxEventsPerCall = 256;
constexpr size_t kMaxReportsPerCall = 1000;
// Reports are not on any charger's answer path (status, TransactionEvent and disconnect reports
// are fire-and-forget), so under load they leave at most once per interval, in one batch: at
// 1,000 TransactionEvents/s that is ~20 reports per ReportBatch instead of 1-3, and control's
// transaction and statement per batch are shared by them. The first report after a quiet
// interval leaves at once, so a lone status change is not delayed.
constexpr auto kReportBatchInterval = std::chrono::milliseconds(20);

// The next batch of `queue` when a call slot is free (then counted in `in_flight`); empty
// otherwise. Call with the backend's mutex held.
template <typename Pending>
std::vector<Pending> TakeBatch(std::vector<Pending>& queue, int& in_flight) {
  std::vector<Pending> batch;
  if (queue.empty() || in_flight >= kMaxCallsInFlight) return batch;
  const size_t n = std::min(queue.size(), kMaxEventsPerCall);
  batch.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.begin() + n));
  queue.erase(queue.begin(), queue.begin() + n);
  ++in_flight;
  return batch;
}

// Sends batches of `queue` (TakeBatch) while call slots are free.
template <typename Pending, typename Send>
void PumpBatches(std::mutex& mu, std::vector<Pending>& queue, int& in_flight, Send send) {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::lock_guard lock(mu);
      batch = TakeBatch(queue, in_flight);
    }
    if (batch.empty()) return;
    send(std::move(batch));
  }
}

// Hands each item of a batch call its own result: the call's error to all, else result i (its
// code and message, or its response) to item i. `short_answer` names a reply with too few.
template <typename Pending, typename BatchResponse>
void DeliverResults(std::vector<Pending>& items, const grpc::Status& status,
                    const BatchResponse& response, const char* short_answer) {
  const std::decay_t<decltype(response.results(0).response())> empty;
  for (size_t i = 0; i < items.size(); ++i) {
    auto& pending = items[i];
    if (!status.ok()) {
      pending.done(status, empty);
    } else if (i >= static_cast<size_t>(response.results_size())) {
      pending.done(grpc::Status(grpc::StatusCode::INTERNAL, short_answer), empty);
    } else if (const auto& result = response.results(static_cast<int>(i)); result.code() != 0) {
      pending.done(grpc::Status(static_cast<grpc::StatusCode>(result.code()), result.message()),
                   empty);
    } else {
      pending.done(grpc::Status::OK, result.response());
    }
  }
}
}  // namespace

GrpcBackend::GrpcBackend(std::shared_ptr<grpc::Channel> control,
                         std::shared_ptr<grpc::Channel> billing)
    : control_(control::v1::StationEventService::NewStub(control)),
      reservations_(control::v1::ReservationService::NewStub(control)),
      billing_(billing::v1::BillingService::NewStub(billing)),
      background_([this] { BackgroundLoop(); }) {}

GrpcBackend::~GrpcBackend() { Stop(); }

// Every call goes through here so Stop() can wait for the callbacks, which use `this`. Like
// CallUnaryAsync, but the call's ClientContext is gone before the call counts as finished: it
// must not outlive the channel, which goes with this object.
template <typename Request, typename Response, typename Start>
void GrpcBackend::Issue(Start&& start, Request request, std::chrono::milliseconds timeout,
                        Completion<Response> done) {
  struct State {
    grpc::ClientContext context;
    Request request;
    Response response;
    Completion<Response> done;
  };
  auto state = std::make_shared<State>();
  state->request = std::move(request);
  state->done = std::move(done);
  state->context.set_deadline(std::chrono::system_clock::now() + timeout);
  outstanding_.fetch_add(1);
  start(&state->context, &state->request, &state->response,
        [this, state](grpc::Status status) mutable {
          auto owned = std::move(state);
          owned->done(status, owned->response);
          owned.reset();
          if (outstanding_.fetch_sub(1) == 1) {
            std::lock_guard lock(mu_);
            cv_.notify_all();
          }
        });
}

void CallWindow::Submit(std::function<void(bool)> start) {
  {
    std::lock_guard lock(mu_);
    if (in_flight_ >= limit_) {
      waiting_.push_back({std::move(start), std::chrono::steady_clock::now()});
      return;
    }
    ++in_flight_;
  }
  start(true);
}

void CallWindow::Release() {
  std::vector<std::function<void(bool)>> expired;
  std::function<void(bool)> next;
  {
    std::lock_guard lock(mu_);
    const auto too_old = std::chrono::steady_clock::now() - max_wait_;
    while (!waiting_.empty() && waiting_.front().since < too_old) {
      expired.push_back(std::move(waiting_.front().start));
      waiting_.pop_front();
    }
    if (waiting_.empty()) {
      --in_flight_;
    } else {  // the slot passes straight to the next call
      next = std::move(waiting_.front().start);
      waiting_.pop_front();
    }
  }
  for (auto& start : expired) start(false);
  if (next) next(true);
}

size_t CallWindow::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

template <typename Request, typename Response, typename Start>
void GrpcBackend::IssueToControl(CallWindow& window, Start start, Request request,
                                 Completion<Response> done, std::chrono::milliseconds timeout) {
  window.Submit([this, &window, start = std::move(start), request = std::move(request),
                 done = std::move(done), timeout](bool admitted) mutable {
    if (!admitted) {
      // Overload, not an outage: callers that admit chargers unchecked during an outage (open
      // station-auth mode) must refuse here, or a handshake flood would open the door.
      return done(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               "control is overloaded; the call waited too long to be sent"),
                  Response());
    }
    Issue<Request, Response>(
        std::move(start), std::move(request), timeout,
        [&window, done = std::move(done)](const grpc::Status& status, const Response& response) {
          window.Release();
          done(status, response);
        });
  });
}

void GrpcBackend::Stop() {
  // Reports still queued behind busy call slots get a moment to leave.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < give_up) {
    {
      std::lock_guard lock(mu_);
      if (queued_reports_.empty() && report_calls_in_flight_ == 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (background_.joinable()) background_.join();
  // Callbacks still to come hold `this`; every call has a deadline, so this wait ends.
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return outstanding_.load() == 0; });
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
    IssueToControl<Request, Response>(
        control_window_,
        [this, invoke](auto* ctx, auto* req, auto* resp, auto c) {
          invoke(control_.get(), ctx, req, resp, std::move(c));
        },
        request, [cb](const grpc::Status& s, const Response&) { cb(s); });
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
  {
    std::lock_guard lock(mu_);
    held_reports_.try_emplace(request.connection_id());
  }
  IssueToControl<control::v1::StationConnectedRequest, control::v1::StationConnectedResponse>(
      control_window_,
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        kInvokeConnected(control_.get(), ctx, req, resp, std::move(cb));
      },
      request,
      [this, request, done = std::move(done)](
          const grpc::Status& status, const control::v1::StationConnectedResponse& response) {
        ReleaseHeldReports(request.connection_id());
        done(status, response);
        if (status.ok()) return;
        // Control must still learn where the charger is, or commands cannot reach it. Its late
        // answer goes to `done` as well: the connection's station prices its transactions.
        auto report = std::make_shared<Report>();
        report->what = "StationConnected " + request.charger_id();
        report->send = [this, request, done](std::function<void(const grpc::Status&)> cb) {
          IssueToControl<control::v1::StationConnectedRequest,
                         control::v1::StationConnectedResponse>(
              control_window_,
              [this](auto* ctx, auto* req, auto* resp, auto c) {
                kInvokeConnected(control_.get(), ctx, req, resp, std::move(c));
              },
              request,
              [cb, done](const grpc::Status& s, const control::v1::StationConnectedResponse& r) {
                if (s.ok()) done(s, r);
                cb(s);
              });
        };
        report->attempt = 1;
        report->due = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        std::lock_guard lock(mu_);
        retries_.push_back(std::move(report));
      });
}

void GrpcBackend::StationDisconnected(const control::v1::StationDisconnectedRequest& request) {
  control::v1::Report report;
  *report.mutable_disconnected() = request;
  QueueReport(std::move(report));
}

void GrpcBackend::BootNotification(const control::v1::BootNotificationRequest& request,
                                   Completion<control::v1::BootNotificationResponse> done) {
  IssueToControl<control::v1::BootNotificationRequest, control::v1::BootNotificationResponse>(
      control_window_,
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->BootNotification(ctx, req, resp, std::move(cb));
      },
      request, std::move(done));
}

void GrpcBackend::AuthenticateStation(const control::v1::AuthenticateStationRequest& request,
                                      Completion<control::v1::AuthenticateStationResponse> done) {
  IssueToControl<control::v1::AuthenticateStationRequest, control::v1::AuthenticateStationResponse>(
      auth_window_,
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->AuthenticateStation(ctx, req, resp, std::move(cb));
      },
      request, std::move(done));
}

void GrpcBackend::AuthorizeToken(const control::v1::AuthorizeTokenRequest& request,
                                 Completion<control::v1::AuthorizeTokenResponse> done) {
  if (request.has_transaction()) {
    // One per TransactionEvent with a token: batched under load, like the events themselves.
    {
      std::lock_guard lock(mu_);
      queued_decisions_.push_back({request, std::move(done)});
    }
    return PumpDecisions();
  }
  SendDecisionUnary({request, std::move(done)});
}

void GrpcBackend::SendDecisionUnary(PendingDecision pending) {
  IssueToControl<control::v1::AuthorizeTokenRequest, control::v1::AuthorizeTokenResponse>(
      control_window_,
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->AuthorizeToken(ctx, req, resp, std::move(cb));
      },
      std::move(pending.request), std::move(pending.done));
}

void GrpcBackend::PumpDecisions() {
  PumpBatches(mu_, queued_decisions_, decision_calls_in_flight_,
              [this](std::vector<PendingDecision> batch) { SendDecisionBatch(std::move(batch)); });
}

void GrpcBackend::SendDecisionBatch(std::vector<PendingDecision> decisions) {
  auto finish_slot = [this] {
    {
      std::lock_guard lock(mu_);
      --decision_calls_in_flight_;
    }
    PumpDecisions();
  };
  if (!decision_batches_) {
    for (auto& pending : decisions) SendDecisionUnary(std::move(pending));
    return finish_slot();
  }
  if (decisions.size() == 1) {
    // Alone: the plain call, holding the slot until it is answered (so that, once the slots
    // are busy, the next decisions wait and leave together).
    PendingDecision pending = std::move(decisions.front());
    pending.done = [done = std::move(pending.done), finish_slot](
                       const grpc::Status& status, const control::v1::AuthorizeTokenResponse& r) {
      done(status, r);
      finish_slot();
    };
    return SendDecisionUnary(std::move(pending));
  }
  control::v1::AuthorizeTokensRequest request;
  for (const auto& pending : decisions) *request.add_requests() = pending.request;
  auto shared = std::make_shared<std::vector<PendingDecision>>(std::move(decisions));
  Issue<control::v1::AuthorizeTokensRequest, control::v1::AuthorizeTokensResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->AuthorizeTokens(ctx, req, resp, std::move(cb));
      },
      std::move(request), kControlTimeout,
      [this, shared, finish_slot](const grpc::Status& status,
                                  const control::v1::AuthorizeTokensResponse& response) {
        if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
          CSMS_LOG(kWarn, "gateway") << "control has no AuthorizeTokens; sending one call per "
                                        "decision from now on";
          decision_batches_ = false;
          for (auto& pending : *shared) SendDecisionUnary(std::move(pending));
          return finish_slot();
        }
        DeliverResults(*shared, status, response, "control answered fewer results than decisions");
        finish_slot();
      });
}

void GrpcBackend::RecordReservationStatus(
    const control::v1::RecordReservationStatusRequest& request,
    Completion<control::v1::RecordReservationStatusResponse> done) {
  // Not retried here: the charger retries the message it got no answer to.
  IssueToControl<control::v1::RecordReservationStatusRequest,
                 control::v1::RecordReservationStatusResponse>(
      control_window_,
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        reservations_->async()->RecordReservationStatus(ctx, req, resp, std::move(cb));
      },
      request, std::move(done));
}

void GrpcBackend::RecordReportPart(control::v1::ReportPartRequest part,
                                   Completion<control::v1::ReportResponse> done) {
  // Not retried here either: the charger sends the part again, and control applies it once.
  IssueToControl<control::v1::ReportPartRequest, control::v1::ReportResponse>(
      report_window_,
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->RecordReportPart(ctx, req, resp, std::move(cb));
      },
      std::move(part), std::move(done), kReportPartTimeout);
}

void GrpcBackend::RecordChargerEvents(std::vector<control::v1::ChargerEvent> events,
                                      Completion<control::v1::ReportResponse> done) {
  control::v1::RecordChargerEventsRequest request;
  request.mutable_events()->Reserve(static_cast<int>(events.size()));
  for (auto& event : events) *request.add_events() = std::move(event);
  // Not retried here: the charger retries the message it got no answer to.
  IssueToControl<control::v1::RecordChargerEventsRequest, control::v1::ReportResponse>(
      event_log_window_,
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->RecordChargerEvents(ctx, req, resp, std::move(cb));
      },
      std::move(request), std::move(done));
}

void GrpcBackend::ReportStatus(const control::v1::StatusReport& request) {
  control::v1::Report report;
  *report.mutable_status() = request;
  QueueReport(std::move(report));
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
  {
    std::lock_guard lock(mu_);
    queued_events_.push_back({event, std::move(done)});
  }
  PumpEvents();
}

void GrpcBackend::PumpEvents() {
  PumpBatches(mu_, queued_events_, event_calls_in_flight_,
              [this](std::vector<PendingEvent> batch) { SendEventBatch(std::move(batch)); });
}

void GrpcBackend::SendEventBatch(std::vector<PendingEvent> events) {
  auto finish_slot = [this] {
    {
      std::lock_guard lock(mu_);
      --event_calls_in_flight_;
    }
    PumpEvents();
  };
  if (!billing_batches_) {
    for (auto& pending : events) SendEventUnary(std::move(pending));
    return finish_slot();
  }
  billing::v1::RecordTransactionEventsRequest request;
  for (const auto& pending : events) *request.add_events() = pending.event;
  auto shared = std::make_shared<std::vector<PendingEvent>>(std::move(events));
  Issue<billing::v1::RecordTransactionEventsRequest, billing::v1::RecordTransactionEventsResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->RecordTransactionEvents(ctx, req, resp, std::move(cb));
      },
      std::move(request), kBillingTimeout,
      [this, shared, finish_slot](const grpc::Status& status,
                                  const billing::v1::RecordTransactionEventsResponse& response) {
        if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
          CSMS_LOG(kWarn, "gateway") << "billing has no RecordTransactionEvents; sending one "
                                        "call per event from now on";
          billing_batches_ = false;
          for (auto& pending : *shared) SendEventUnary(std::move(pending));
          return finish_slot();
        }
        DeliverResults(*shared, status, response, "billing answered fewer results than events");
        finish_slot();
      });
}

void GrpcBackend::SendEventUnary(PendingEvent pending) {
  billing::v1::RecordTransactionEventRequest request;
  *request.mutable_event() = std::move(pending.event);
  Issue<billing::v1::RecordTransactionEventRequest, billing::v1::RecordTransactionEventResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        billing_->async()->RecordTransactionEvent(ctx, req, resp, std::move(cb));
      },
      std::move(request), kBillingTimeout, std::move(pending.done));
}

void GrpcBackend::ReportTransactionEvent(const control::v1::TransactionEventReport& request) {
  control::v1::Report report;
  *report.mutable_transaction_event() = request;
  QueueReport(std::move(report));
}

void GrpcBackend::ReleaseHeldReports(const std::string& connection_id) {
  {
    std::lock_guard lock(mu_);
    auto it = held_reports_.find(connection_id);
    if (it == held_reports_.end()) return;
    for (auto& report : it->second) queued_reports_.push_back(std::move(report));
    held_reports_.erase(it);
  }
  PumpReports();
}

void GrpcBackend::QueueReport(control::v1::Report report) {
  {
    std::lock_guard lock(mu_);
    if (report.has_status()) {
      if (auto it = held_reports_.find(report.status().connection_id());
          it != held_reports_.end()) {
        it->second.push_back(std::move(report));  // until control knows the connection
        return;
      }
    }
    if (queued_reports_.size() >= kMaxRetryQueue) {
      CSMS_LOG(kError, "gateway") << "control report queue full; dropping a report";
      return;
    }
    queued_reports_.push_back(std::move(report));
  }
  PumpReports();
}

void GrpcBackend::PumpReports() {
  for (;;) {
    std::vector<control::v1::Report> batch;
    {
      std::lock_guard lock(mu_);
      if (queued_reports_.empty() || report_calls_in_flight_ >= kMaxCallsInFlight) return;
      const auto now = std::chrono::steady_clock::now();
      if (queued_reports_.size() < kMaxReportsPerCall && now < next_report_batch_) {
        // Too soon after the last batch: the background thread sends this one when it is due.
        if (!report_batch_scheduled_) {
          report_batch_scheduled_ = true;
          cv_.notify_all();
        }
        return;
      }
      next_report_batch_ = now + kReportBatchInterval;
      const size_t n = std::min(queued_reports_.size(), kMaxReportsPerCall);
      batch.assign(std::make_move_iterator(queued_reports_.begin()),
                   std::make_move_iterator(queued_reports_.begin() + n));
      queued_reports_.erase(queued_reports_.begin(), queued_reports_.begin() + n);
      ++report_calls_in_flight_;
    }
    SendReportBatch(std::move(batch), 1);
  }
}

void GrpcBackend::SendReportBatch(std::vector<control::v1::Report> reports, int attempt) {
  if (!control_batches_) {
    for (const auto& report : reports) SendReportUnary(report);
    return OnReportBatchDone({}, attempt, grpc::Status::OK);
  }
  control::v1::ReportBatchRequest request;
  for (const auto& report : reports) *request.add_reports() = report;
  auto shared = std::make_shared<std::vector<control::v1::Report>>(std::move(reports));
  Issue<control::v1::ReportBatchRequest, control::v1::ReportResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ReportBatch(ctx, req, resp, std::move(cb));
      },
      std::move(request), kControlTimeout,
      [this, shared, attempt](const grpc::Status& status, const control::v1::ReportResponse&) {
        if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
          CSMS_LOG(kWarn, "gateway") << "control has no ReportBatch; sending one call per report "
                                        "from now on";
          control_batches_ = false;
          for (const auto& report : *shared) SendReportUnary(report);
          return OnReportBatchDone({}, attempt, grpc::Status::OK);
        }
        OnReportBatchDone(std::move(*shared), attempt, status);
      });
}

void GrpcBackend::OnReportBatchDone(std::vector<control::v1::Report> reports, int attempt,
                                    const grpc::Status& status) {
  {
    std::lock_guard lock(mu_);
    --report_calls_in_flight_;
    if (!status.ok()) {
      if (attempt >= kMaxReportAttempts) {
        CSMS_LOG(kError, "gateway")
            << "gave up reporting " << reports.size() << " station event(s) to control after "
            << attempt << " attempts: " << log::Sanitize(status.error_message(), 200);
      } else {
        CSMS_LOG(kWarn, "gateway")
            << "reporting " << reports.size() << " station event(s) to control failed ("
            << log::Sanitize(status.error_message(), 200) << "); will retry";
        report_retries_.push_back(
            {std::move(reports), attempt + 1,
             std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(250) * (1 << std::min(attempt, 5))});
      }
    }
  }
  PumpReports();
}

void GrpcBackend::SendReportUnary(const control::v1::Report& report) {
  using control::v1::Report;
  switch (report.report_case()) {
    case Report::kStatus:
      return Send(MakeControlReport<control::v1::StatusReport, control::v1::ReportResponse>(
          "StatusNotification " + report.status().charger_id(), report.status(),
          [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
            stub->async()->ReportStatus(ctx, req, resp, std::move(cb));
          }));
    case Report::kTransactionEvent:
      return Send(
          MakeControlReport<control::v1::TransactionEventReport, control::v1::ReportResponse>(
              "TransactionEvent " + report.transaction_event().event().transaction_id(),
              report.transaction_event(),
              [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
                stub->async()->ReportTransactionEvent(ctx, req, resp, std::move(cb));
              }));
    case Report::kDisconnected:
      return Send(MakeControlReport<control::v1::StationDisconnectedRequest,
                                    control::v1::StationDisconnectedResponse>(
          "StationDisconnected " + report.disconnected().charger_id(), report.disconnected(),
          [](auto* stub, auto* ctx, auto* req, auto* resp, auto cb) {
            stub->async()->StationDisconnected(ctx, req, resp, std::move(cb));
          }));
    case Report::REPORT_NOT_SET:
      return;
  }
}

void GrpcBackend::Send(std::shared_ptr<Report> report) {
  ++report->attempt;
  report->send([this, report](const grpc::Status& status) {
    if (status.ok()) return;
    if (report->attempt >= kMaxReportAttempts) {
      CSMS_LOG(kError, "gateway") << "gave up reporting " << report->what << " to control after "
                                  << report->attempt
                                  << " attempts: " << log::Sanitize(status.error_message(), 200);
      return;
    }
    CSMS_LOG(kWarn, "gateway") << "reporting " << report->what << " failed ("
                               << log::Sanitize(status.error_message(), 200) << "); will retry";
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
  Issue<control::v1::LastSeenBatch, control::v1::ReportResponse>(
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        control_->async()->ReportLastSeen(ctx, req, resp, std::move(cb));
      },
      std::move(batch), kControlTimeout,
      [](const grpc::Status& status, const control::v1::ReportResponse&) {
        // Losing one batch only delays last-seen by a second; the next batch repeats it.
        if (!status.ok()) {
          CSMS_LOG(kDebug, "gateway")
              << "last-seen batch failed: " << log::Sanitize(status.error_message(), 200);
        }
      });
}

void GrpcBackend::BackgroundLoop() {
  auto next_flush = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    std::vector<std::shared_ptr<Report>> due;
    std::vector<ReportRetry> due_batches;
    bool stopping;
    bool pump_reports = false;
    {
      std::unique_lock lock(mu_);
      auto wake = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
      if (report_batch_scheduled_) wake = std::min(wake, next_report_batch_);
      cv_.wait_until(lock, wake);
      stopping = stopping_;
      auto now = std::chrono::steady_clock::now();
      if (report_batch_scheduled_ && (now >= next_report_batch_ || stopping)) {
        report_batch_scheduled_ = false;
        next_report_batch_ = now;  // due: the pump below sends it
        pump_reports = true;
      }
      for (auto it = retries_.begin(); it != retries_.end();) {
        if ((*it)->due <= now) {
          due.push_back(std::move(*it));
          it = retries_.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = report_retries_.begin(); it != report_retries_.end();) {
        if (it->due <= now) {
          due_batches.push_back(std::move(*it));
          it = report_retries_.erase(it);
        } else {
          ++it;
        }
      }
      report_calls_in_flight_ += static_cast<int>(due_batches.size());
    }
    for (auto& report : due) Send(std::move(report));
    for (auto& retry : due_batches) SendReportBatch(std::move(retry.reports), retry.attempt);
    if (pump_reports) PumpReports();
    if (stopping || std::chrono::steady_clock::now() >= next_flush) {
      FlushLastSeen();
      next_flush = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    if (stopping) return;
  }
}

}  // namespace csms::gateway
