// GrpcBackend against in-process fake billing and control services: adaptive batching, one
// result per event, the fallback to unary calls for services without the batch RPCs,
// resending a report batch that failed, event-log writes answered with control's status, and a
// failed StationConnected answered again once its retry gets through.
#include "csms/gateway/grpc_backend.h"

#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace csms::gateway {
namespace {

namespace bv1 = billing::v1;
namespace cv1 = control::v1;

ocpp::v1::TransactionEvent Event(const std::string& charger, int seq) {
  ocpp::v1::TransactionEvent event;
  event.set_charger_id(charger);
  event.set_transaction_id("tx-" + charger);
  event.set_seq_no(seq);
  event.set_dedup_key("seq:" + std::to_string(seq));
  return event;
}

// Billing whose RecordTransactionEvents answers each event by its seqNo: odd ones fail with
// FAILED_PRECONDITION, the rest are stored. Calls are held until `release` while `hold` is set,
// so a test can pile events up behind busy slots.
class FakeBilling final : public bv1::BillingService::Service {
 public:
  explicit FakeBilling(bool batch_rpc) : batch_rpc_(batch_rpc) {}

  grpc::Status RecordTransactionEvent(grpc::ServerContext*,
                                      const bv1::RecordTransactionEventRequest* request,
                                      bv1::RecordTransactionEventResponse* response) override {
    Wait();
    std::lock_guard lock(mu);
    ++unary_calls;
    events_seen += 1;
    if (request->event().seq_no() % 2 == 1) {
      return {grpc::StatusCode::FAILED_PRECONDITION, "odd"};
    }
    response->mutable_session()->set_transaction_id(request->event().transaction_id());
    response->mutable_session()->set_event_count(request->event().seq_no());
    return grpc::Status::OK;
  }

  grpc::Status RecordTransactionEvents(grpc::ServerContext*,
                                       const bv1::RecordTransactionEventsRequest* request,
                                       bv1::RecordTransactionEventsResponse* response) override {
    if (!batch_rpc_) return {grpc::StatusCode::UNIMPLEMENTED, "old billing"};
    Wait();
    std::lock_guard lock(mu);
    ++batch_calls;
    largest_batch = std::max(largest_batch, request->events_size());
    for (const auto& event : request->events()) {
      events_seen += 1;
      auto* result = response->add_results();
      if (event.seq_no() % 2 == 1) {
        result->set_code(grpc::StatusCode::FAILED_PRECONDITION);
        result->set_message("odd");
      } else {
        result->mutable_response()->mutable_session()->set_transaction_id(event.transaction_id());
        result->mutable_response()->mutable_session()->set_event_count(event.seq_no());
      }
    }
    return grpc::Status::OK;
  }

  void Hold() {
    std::lock_guard lock(gate_mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(gate_mu_);
      held_ = false;
    }
    gate_cv_.notify_all();
  }

  std::mutex mu;
  int unary_calls = 0;
  int batch_calls = 0;
  int largest_batch = 0;
  int events_seen = 0;

 private:
  void Wait() {
    std::unique_lock lock(gate_mu_);
    gate_cv_.wait(lock, [&] { return !held_; });
  }
  const bool batch_rpc_;
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  bool held_ = false;
};

// Control that records the reports it stores; ReportBatch fails the first `fail_batches` calls.
class FakeControl final : public cv1::StationEventService::Service {
 public:
  explicit FakeControl(bool batch_rpc) : batch_rpc_(batch_rpc) {}

  grpc::Status ReportStatus(grpc::ServerContext*, const cv1::StatusReport* request,
                            cv1::ReportResponse*) override {
    std::lock_guard lock(mu);
    ++unary_calls;
    statuses.push_back(request->charger_id() + ":" + request->status());
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status ReportTransactionEvent(grpc::ServerContext*,
                                      const cv1::TransactionEventReport* request,
                                      cv1::ReportResponse*) override {
    std::lock_guard lock(mu);
    ++unary_calls;
    transaction_events.push_back(request->event().transaction_id());
    cv.notify_all();
    return grpc::Status::OK;
  }
  // Fails the first `fail_connects` calls (control restarting), then names the station.
  grpc::Status StationConnected(grpc::ServerContext*, const cv1::StationConnectedRequest* request,
                                cv1::StationConnectedResponse* response) override {
    std::lock_guard lock(mu);
    ++connect_calls;
    if (fail_connects > 0) {
      --fail_connects;
      return {grpc::StatusCode::UNAVAILABLE, "control restarting"};
    }
    response->set_registration_status("Accepted");
    response->set_station_id("site-of-" + request->charger_id());
    return grpc::Status::OK;
  }
  grpc::Status StationDisconnected(grpc::ServerContext*,
                                   const cv1::StationDisconnectedRequest* request,
                                   cv1::StationDisconnectedResponse*) override {
    std::lock_guard lock(mu);
    ++unary_calls;
    disconnects.push_back(request->charger_id());
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status ReportBatch(grpc::ServerContext*, const cv1::ReportBatchRequest* request,
                           cv1::ReportResponse*) override {
    if (!batch_rpc_) return {grpc::StatusCode::UNIMPLEMENTED, "old control"};
    std::lock_guard lock(mu);
    ++batch_calls;
    if (fail_batches > 0) {
      --fail_batches;
      return {grpc::StatusCode::UNAVAILABLE, "database restarting"};
    }
    for (const auto& report : request->reports()) {
      if (report.has_status()) {
        statuses.push_back(report.status().charger_id() + ":" + report.status().status());
      } else if (report.has_transaction_event()) {
        transaction_events.push_back(report.transaction_event().event().transaction_id());
      } else if (report.has_disconnected()) {
        disconnects.push_back(report.disconnected().charger_id());
      }
    }
    cv.notify_all();
    return grpc::Status::OK;
  }

  grpc::Status RecordChargerEvents(grpc::ServerContext*,
                                   const cv1::RecordChargerEventsRequest* request,
                                   cv1::ReportResponse*) override {
    std::lock_guard lock(mu);
    ++event_log_calls;
    if (!event_log_status.ok()) return event_log_status;
    for (const auto& event : request->events()) {
      charger_events.push_back(event.charger_id() + ":" + event.kind() + ":" + event.type());
    }
    return grpc::Status::OK;
  }

  // Token decisions: the reason echoes the id token; odd-numbered tokens ("tok-1", "tok-3", ...)
  // are refused. Unary calls wait while decisions are held.
  grpc::Status AuthorizeToken(grpc::ServerContext*, const cv1::AuthorizeTokenRequest* request,
                              cv1::AuthorizeTokenResponse* response) override {
    {
      std::unique_lock lock(mu);
      ++decision_unary_calls;
      cv.wait(lock, [&] { return !hold_decisions; });
    }
    return Decide(*request, response);
  }
  grpc::Status AuthorizeTokens(grpc::ServerContext*, const cv1::AuthorizeTokensRequest* request,
                               cv1::AuthorizeTokensResponse* response) override {
    if (!batch_rpc_) return {grpc::StatusCode::UNIMPLEMENTED, "old control"};
    {
      std::lock_guard lock(mu);
      ++decision_batch_calls;
      largest_decision_batch = std::max(largest_decision_batch, request->requests_size());
    }
    for (const auto& one : request->requests()) {
      auto* result = response->add_results();
      const grpc::Status status = Decide(one, result->mutable_response());
      result->set_code(status.error_code());
      result->set_message(status.error_message());
    }
    return grpc::Status::OK;
  }
  static grpc::Status Decide(const cv1::AuthorizeTokenRequest& request,
                             cv1::AuthorizeTokenResponse* response) {
    const int n = std::stoi(request.id_token().substr(4));
    if (n % 2 == 1) return {grpc::StatusCode::INVALID_ARGUMENT, "odd " + request.id_token()};
    response->set_status("Accepted");
    response->set_reason(request.id_token() + "/" + request.transaction().transaction_id());
    return grpc::Status::OK;
  }
  void ReleaseDecisions() {
    std::lock_guard lock(mu);
    hold_decisions = false;
    cv.notify_all();
  }

  // Waits until `count` reports of any kind were stored.
  bool WaitForReports(size_t count) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] {
      return statuses.size() + transaction_events.size() + disconnects.size() >= count;
    });
  }

  std::mutex mu;
  std::condition_variable cv;
  int unary_calls = 0;
  int batch_calls = 0;
  int fail_batches = 0;
  std::vector<std::string> statuses, transaction_events, disconnects;
  int event_log_calls = 0;
  int connect_calls = 0;
  int fail_connects = 0;
  grpc::Status event_log_status = grpc::Status::OK;
  std::vector<std::string> charger_events;  // charger:kind:type
  bool hold_decisions = false;
  int decision_unary_calls = 0;
  int decision_batch_calls = 0;
  int largest_decision_batch = 0;

 private:
  const bool batch_rpc_;
};

class GrpcBackendTest : public ::testing::TestWithParam<bool> {
 protected:
  // gRPC 1.51 can abort when it shuts down completely (the callback API's threads) and starts
  // again at once, which is what happens between two tests otherwise; one extra reference keeps
  // the library up for the whole test program, as in a real process.
  static void SetUpTestSuite() {
    static const bool initialized = [] {
      grpc_init();
      return true;
    }();
    (void)initialized;
  }

  // GetParam(): whether the fake services have the batch RPCs.
  void SetUp() override {
    billing_ = std::make_unique<FakeBilling>(GetParam());
    control_ = std::make_unique<FakeControl>(GetParam());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(billing_.get());
    builder.RegisterService(control_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    backend_ = std::make_unique<GrpcBackend>(channel, channel);
  }
  void TearDown() override {
    backend_->Stop();
    backend_.reset();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  std::unique_ptr<FakeBilling> billing_;
  std::unique_ptr<FakeControl> control_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcBackend> backend_;
};

struct Outcome {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string transaction_id;
  int64_t event_count = -1;
};

TEST_P(GrpcBackendTest, EveryEventGetsItsOwnResultWhetherBatchedOrNot) {
  // Hold billing so that events pile up behind the busy call slots and leave in batches.
  billing_->Hold();
  constexpr int kEvents = 300;
  std::vector<std::promise<Outcome>> promises(kEvents);
  for (int i = 0; i < kEvents; ++i) {
    backend_->RecordTransactionEvent(
        Event("cp" + std::to_string(i % 7), i),
        [&promises, i](const grpc::Status& status, const bv1::RecordTransactionEventResponse& r) {
          promises[i].set_value(
              {status.error_code(), r.session().transaction_id(), r.session().event_count()});
        });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  billing_->Release();
  for (int i = 0; i < kEvents; ++i) {
    auto future = promises[i].get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready) << i;
    Outcome outcome = future.get();
    if (i % 2 == 1) {
      EXPECT_EQ(outcome.code, grpc::StatusCode::FAILED_PRECONDITION) << i;
    } else {
      EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << i;
      EXPECT_EQ(outcome.transaction_id, "tx-cp" + std::to_string(i % 7)) << i;
      EXPECT_EQ(outcome.event_count, i) << "results must not be shuffled between events";
    }
  }
  std::lock_guard lock(billing_->mu);
  EXPECT_EQ(billing_->events_seen, kEvents);
  if (GetParam()) {
    EXPECT_EQ(billing_->unary_calls, 0);
    EXPECT_LT(billing_->batch_calls, kEvents / 2) << "events held back must leave together";
    EXPECT_GT(billing_->largest_batch, 1);
  } else {
    EXPECT_EQ(billing_->unary_calls, kEvents);  // fell back to one call per event
  }
}

// TransactionEvents' token decisions leave in AuthorizeTokens batches once the call slots are
// busy (or one call each against a control without it), and each gets its own result.
TEST_P(GrpcBackendTest, TransactionTokenDecisionsAreBatchedWithTheirOwnResults) {
  {
    std::lock_guard lock(control_->mu);
    control_->hold_decisions = true;
  }
  constexpr int kDecisions = 200;
  std::vector<std::promise<std::pair<grpc::StatusCode, std::string>>> promises(kDecisions);
  for (int i = 0; i < kDecisions; ++i) {
    cv1::AuthorizeTokenRequest request;
    request.set_charger_id("cp1");
    request.set_id_token("tok-" + std::to_string(i));
    request.set_type("ISO14443");
    request.mutable_transaction()->set_transaction_id("tx-" + std::to_string(i));
    backend_->AuthorizeToken(
        request, [&promises, i](const grpc::Status& status, const cv1::AuthorizeTokenResponse& r) {
          promises[i].set_value({status.error_code(), r.reason()});
        });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  control_->ReleaseDecisions();
  for (int i = 0; i < kDecisions; ++i) {
    auto future = promises[i].get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready) << i;
    const auto [code, reason] = future.get();
    if (i % 2 == 1) {
      EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT) << i;
    } else {
      EXPECT_EQ(code, grpc::StatusCode::OK) << i;
      EXPECT_EQ(reason, "tok-" + std::to_string(i) + "/tx-" + std::to_string(i))
          << "results must not be shuffled between decisions";
    }
  }
  std::lock_guard lock(control_->mu);
  if (GetParam()) {
    EXPECT_GT(control_->largest_decision_batch, 1);
    EXPECT_LT(control_->decision_batch_calls + control_->decision_unary_calls, kDecisions / 2)
        << "decisions held back must leave together";
  } else {
    EXPECT_EQ(control_->decision_unary_calls, kDecisions);  // one call per decision
  }
}

TEST_P(GrpcBackendTest, ReportsReachControlInBatchesOrOneByOne) {
  constexpr int kReports = 200;
  for (int i = 0; i < kReports; ++i) {
    cv1::StatusReport status;
    status.set_charger_id("cp" + std::to_string(i));
    status.set_status("Available");
    backend_->ReportStatus(status);
    cv1::TransactionEventReport tx;
    *tx.mutable_event() = Event("cp" + std::to_string(i), 0);
    backend_->ReportTransactionEvent(tx);
  }
  cv1::StationDisconnectedRequest gone;
  gone.set_charger_id("cp0");
  gone.set_connection_id("c-1");
  backend_->StationDisconnected(gone);
  ASSERT_TRUE(control_->WaitForReports(2 * kReports + 1));
  std::lock_guard lock(control_->mu);
  EXPECT_EQ(control_->statuses.size(), static_cast<size_t>(kReports));
  EXPECT_EQ(control_->transaction_events.size(), static_cast<size_t>(kReports));
  EXPECT_EQ(control_->disconnects, std::vector<std::string>{"cp0"});
  if (GetParam()) {
    EXPECT_EQ(control_->unary_calls, 0);
    EXPECT_LT(control_->batch_calls, kReports) << "reports must travel together";
  } else {
    EXPECT_EQ(control_->unary_calls, 2 * kReports + 1);
  }
}

TEST_P(GrpcBackendTest, AFailedReportBatchIsSentAgain) {
  if (!GetParam()) GTEST_SKIP() << "only the batch RPC can fail as a whole";
  {
    std::lock_guard lock(control_->mu);
    control_->fail_batches = 1;
  }
  cv1::StatusReport status;
  status.set_charger_id("cp1");
  status.set_status("Faulted");
  backend_->ReportStatus(status);
  ASSERT_TRUE(control_->WaitForReports(1)) << "the retry did not come";
  std::lock_guard lock(control_->mu);
  EXPECT_EQ(control_->statuses, std::vector<std::string>{"cp1:Faulted"});
  EXPECT_EQ(control_->batch_calls, 2);
}

// Durable: the completion carries control's own answer, after all events of the call are
// stored; a failure is not retried here (the charger retries its message).
TEST_P(GrpcBackendTest, ChargerEventsAreOneCallAnsweredWithControlsStatus) {
  auto record = [&](std::vector<std::string> types) {
    std::vector<cv1::ChargerEvent> events;
    for (auto& type : types) {
      auto& event = events.emplace_back();
      event.set_charger_id("cp1");
      event.set_kind("NotifyEvent");
      event.set_type(std::move(type));
    }
    auto promise = std::make_shared<std::promise<grpc::StatusCode>>();
    auto future = promise->get_future();
    backend_->RecordChargerEvents(
        std::move(events), [promise](const grpc::Status& status, const cv1::ReportResponse&) {
          promise->set_value(status.error_code());
        });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  };
  EXPECT_EQ(record({"EVSE.Temperature", "Connector.AvailabilityState", "ChargingStation.Problem"}),
            grpc::StatusCode::OK);
  {
    std::lock_guard lock(control_->mu);
    EXPECT_EQ(control_->event_log_calls, 1);
    EXPECT_EQ(control_->charger_events,
              (std::vector<std::string>{"cp1:NotifyEvent:EVSE.Temperature",
                                        "cp1:NotifyEvent:Connector.AvailabilityState",
                                        "cp1:NotifyEvent:ChargingStation.Problem"}));
    control_->event_log_status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "database down");
  }
  EXPECT_EQ(record({"EVSE.Temperature"}), grpc::StatusCode::UNAVAILABLE);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::lock_guard lock(control_->mu);
  EXPECT_EQ(control_->event_log_calls, 2) << "a failed event-log write is not retried here";
}

// The connection learns its station (and registration) from control's answer, also when the
// first attempt failed and a retry got through later.
TEST_P(GrpcBackendTest, StationConnectedIsAnsweredAgainWhenItsRetryGetsThrough) {
  {
    std::lock_guard lock(control_->mu);
    control_->fail_connects = 1;
  }
  struct Answers {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::pair<grpc::StatusCode, std::string>> seen;
  };
  auto answers = std::make_shared<Answers>();
  cv1::StationConnectedRequest request;
  request.set_charger_id("CP-9");
  request.set_connection_id("conn-9");
  backend_->StationConnected(
      request, [answers](const grpc::Status& status, const cv1::StationConnectedResponse& r) {
        std::lock_guard lock(answers->mu);
        answers->seen.emplace_back(status.error_code(), r.station_id());
        answers->cv.notify_all();
      });
  std::unique_lock lock(answers->mu);
  ASSERT_TRUE(answers->cv.wait_for(lock, std::chrono::seconds(10), [&] {
    return answers->seen.size() >= 2;
  })) << "the retry's answer never came";
  EXPECT_EQ(answers->seen[0].first, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(answers->seen[1].first, grpc::StatusCode::OK);
  EXPECT_EQ(answers->seen[1].second, "site-of-CP-9");
  lock.unlock();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  lock.lock();
  EXPECT_EQ(answers->seen.size(), 2u) << "answered once more, not again after that";
}

TEST(CallWindowTest, AdmitsUpToTheLimitThenHandsSlotsOnInOrder) {
  CallWindow window(2, std::chrono::seconds(60));
  std::vector<std::string> log;
  for (int i = 0; i < 5; ++i) {
    window.Submit(
        [&log, i](bool admitted) { log.push_back(std::to_string(i) + (admitted ? "+" : "-")); });
  }
  EXPECT_EQ(log, (std::vector<std::string>{"0+", "1+"}));
  EXPECT_EQ(window.waiting(), 3u);
  window.Release();
  EXPECT_EQ(log.back(), "2+");
  window.Release();
  window.Release();
  EXPECT_EQ(log, (std::vector<std::string>{"0+", "1+", "2+", "3+", "4+"}));
  EXPECT_EQ(window.waiting(), 0u);
  window.Release();
  window.Release();
  window.Submit([&log](bool admitted) { log.push_back(admitted ? "5+" : "5-"); });
  EXPECT_EQ(log.back(), "5+") << "released slots are free again";
}

TEST(CallWindowTest, CallsThatWaitedTooLongAreTurnedAwayNotSent) {
  CallWindow window(1, std::chrono::milliseconds(20));
  std::vector<std::string> log;
  window.Submit([&log](bool admitted) { log.push_back(admitted ? "a+" : "a-"); });
  window.Submit([&log](bool admitted) { log.push_back(admitted ? "b+" : "b-"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  window.Submit([&log](bool admitted) { log.push_back(admitted ? "c+" : "c-"); });
  window.Release();  // b waited 40 ms > 20 ms: turned away; c is fresh and gets the slot
  EXPECT_EQ(log, (std::vector<std::string>{"a+", "b-", "c+"}));
}

INSTANTIATE_TEST_SUITE_P(BatchRpc, GrpcBackendTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Batched" : "OldServices"; });

}  // namespace
}  // namespace csms::gateway
