// Control service against a real PostgreSQL and real gRPC. A fake gateway ChargerLink plays the
// charger: it answers CALLs and reports TransactionEvents back the way the gateway would.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <thread>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/charger_link_client.h"
#include "csms/control/control_service.h"
#include "csms/control/event_listener.h"
#include "csms/control/station_event_service.h"
#include "csms/control/stores.h"
#include "csms/control/token_session_store.h"
#include "csms/control/waiter.h"
#include "csms/control/write_batcher.h"
#include "csms/gateway/v1/charger_link.grpc.pb.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using namespace std::chrono_literals;
using csms::control::v1::Charger;
using csms::gateway::v1::CallRequest;
using csms::gateway::v1::CallResponse;
using nlohmann::json;

constexpr auto kCommandTimeout = 2s;
constexpr auto kStarted = csms::ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED;
constexpr auto kUpdated = csms::ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED;
constexpr auto kEnded = csms::ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;

std::unique_ptr<grpc::Server> StartServer(const std::vector<grpc::Service*>& services, int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
  for (auto* service : services) builder.RegisterService(service);
  return builder.BuildAndStart();
}

CallResponse Result(const json& payload) {
  CallResponse response;
  response.set_result_json(payload.dump());
  return response;
}

// The gateway side of ChargerLink, answering as a charger would.
class FakeChargerLink final : public csms::gateway::v1::ChargerLink::Service {
 public:
  using Handler = std::function<grpc::Status(const CallRequest&, CallResponse*)>;

  ~FakeChargerLink() override { JoinAll(); }

  void On(const std::string& action, Handler handler) {
    std::lock_guard lock(mu_);
    handlers_[action] = std::move(handler);
  }

  grpc::Status Call(grpc::ServerContext*, const CallRequest* request,
                    CallResponse* response) override {
    Handler handler;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(*request);
      auto it = handlers_.find(request->action());
      if (it == handlers_.end()) {
        response->mutable_error()->set_error_code("NotImplemented");
        return grpc::Status::OK;
      }
      handler = it->second;
    }
    return handler(*request, response);
  }

  grpc::Status Disconnect(grpc::ServerContext*, const csms::gateway::v1::DisconnectRequest* request,
                          csms::gateway::v1::DisconnectResponse* response) override {
    std::lock_guard lock(mu_);
    disconnects_.push_back(*request);
    response->set_closed(true);
    return grpc::Status::OK;
  }

  std::vector<csms::gateway::v1::DisconnectRequest> Disconnects() {
    std::lock_guard lock(mu_);
    return disconnects_;
  }

  // Runs fn on another thread after a delay, like a charger sending its event after answering.
  void Later(std::chrono::milliseconds delay, std::function<void()> fn) {
    std::lock_guard lock(mu_);
    threads_.emplace_back([delay, fn = std::move(fn)] {
      std::this_thread::sleep_for(delay);
      fn();
    });
  }

  void JoinAll() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  std::vector<CallRequest> Calls(const std::string& action) {
    std::lock_guard lock(mu_);
    std::vector<CallRequest> out;
    for (const auto& c : calls_) {
      if (c.action() == action) out.push_back(c);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  std::vector<CallRequest> calls_;
  std::vector<csms::gateway::v1::DisconnectRequest> disconnects_;
  std::vector<std::thread> threads_;
};

struct EventSpec {
  EventSpec(std::string charger, std::string transaction,
            csms::ocpp::v1::TransactionEventType event_type = kStarted, std::string state = "",
            std::optional<double> power = std::nullopt, double energy = 0)
      : charger_id(std::move(charger)),
        transaction_id(std::move(transaction)),
        type(event_type),
        charging_state(std::move(state)),
        power_w(power),
        energy_kwh(energy) {}

  std::string charger_id;
  std::string transaction_id;
  csms::ocpp::v1::TransactionEventType type;
  std::optional<int64_t> remote_start_id;
  std::string charging_state;
  std::optional<double> power_w;
  double energy_kwh;
  double cost = 0;
  int64_t order_key = 0;
  int evse_id = 1;
};

class ControlIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 4);
    stores_ = std::make_unique<ControlStores>(*pool_);
    batcher_ = std::make_unique<WriteBatcher>(stores_->registry);
    events_service_ = std::make_unique<StationEventServiceImpl>(*batcher_, link_, waiter_, 30);
    control_service_ =
        std::make_unique<ControlServiceImpl>(*stores_, link_, waiter_, kCommandTimeout);
    int port = 0;
    server_ = StartServer({events_service_.get(), control_service_.get()}, &port);
    ASSERT_TRUE(server_);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    control_ = csms::control::v1::ControlService::NewStub(channel);
    events_ = csms::control::v1::StationEventService::NewStub(channel);

    int fake_port = 0;
    fake_server_ = StartServer({&fake_}, &fake_port);
    ASSERT_TRUE(fake_server_);
    gateway_address_ = "127.0.0.1:" + std::to_string(fake_port);
  }

  void TearDown() override {
    fake_.JoinAll();
    if (fake_server_) fake_server_->Shutdown(std::chrono::system_clock::now() + 1s);
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }

  // A charger as the gateway announces it: connected, booted, connector Available.
  void Register(const std::string& charger_id, const std::string& connection_id = "conn-1") {
    Connect(charger_id, connection_id);
    csms::control::v1::BootNotificationRequest boot;
    boot.set_charger_id(charger_id);
    boot.set_connection_id(connection_id);
    boot.set_reason("PowerUp");
    boot.set_vendor("Acme");
    boot.set_model("Fast-50");
    boot.set_serial_number("SN-1");
    boot.set_firmware_version("1.2.3");
    csms::control::v1::BootNotificationResponse boot_response;
    grpc::ClientContext context;
    ASSERT_TRUE(events_->BootNotification(&context, boot, &boot_response).ok());
    ReportStatus(charger_id, 1, "Available", RealClock().Now());
  }

  csms::control::v1::StationConnectedResponse Connect(
      const std::string& charger_id, const std::string& connection_id,
      std::optional<TimePoint> connected_at = std::nullopt) {
    csms::control::v1::StationConnectedRequest request;
    request.set_charger_id(charger_id);
    request.set_connection_id(connection_id);
    request.set_gateway_address(gateway_address_);
    *request.mutable_connected_at() = ToProto(connected_at.value_or(RealClock().Now()));
    csms::control::v1::StationConnectedResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(events_->StationConnected(&context, request, &response).ok());
    return response;
  }

  void Disconnect(const std::string& charger_id, const std::string& connection_id) {
    csms::control::v1::StationDisconnectedRequest request;
    request.set_charger_id(charger_id);
    request.set_connection_id(connection_id);
    csms::control::v1::StationDisconnectedResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(events_->StationDisconnected(&context, request, &response).ok());
  }

  void ReportStatus(const std::string& charger_id, int connector_id, const std::string& status,
                    TimePoint at) {
    csms::control::v1::StatusReport report;
    report.set_charger_id(charger_id);
    report.set_evse_id(1);
    report.set_connector_id(connector_id);
    report.set_status(status);
    *report.mutable_timestamp() = ToProto(at);
    csms::control::v1::ReportResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(events_->ReportStatus(&context, report, &response).ok());
  }

  // What the gateway sends once billing has stored the event, to this replica unless another
  // one is named. Safe from any thread.
  grpc::Status ReportEvent(const EventSpec& spec,
                           csms::control::v1::StationEventService::Stub* replica = nullptr) {
    csms::control::v1::TransactionEventReport report;
    auto* ev = report.mutable_event();
    ev->set_charger_id(spec.charger_id);
    ev->set_connection_id("conn-1");
    ev->set_transaction_id(spec.transaction_id);
    ev->set_event_type(spec.type);
    ev->set_order_key(spec.order_key);
    ev->set_evse_id(spec.evse_id);
    ev->set_charging_state(spec.charging_state);
    if (spec.remote_start_id) ev->set_remote_start_id(*spec.remote_start_id);
    if (spec.power_w) ev->set_power_w(*spec.power_w);
    *ev->mutable_timestamp() = ToProto(RealClock().Now());
    report.set_energy_consumed_kwh(spec.energy_kwh);
    report.set_total_cost(spec.cost);
    report.set_currency("KRW");
    csms::control::v1::ReportResponse response;
    grpc::ClientContext context;
    return (replica != nullptr ? replica : events_.get())
        ->ReportTransactionEvent(&context, report, &response);
  }

  // The charger accepts a remote start and reports Started ~100 ms later; with
  // echo_remote_start_id false it speaks the seed dialect, which leaves remoteStartId out.
  void AcceptStartsAndReport(const std::string& transaction_id, bool echo_remote_start_id = true,
                             csms::control::v1::StationEventService::Stub* replica = nullptr) {
    fake_.On("RequestStartTransaction", [=, this](const CallRequest& request,
                                                  CallResponse* response) {
      json payload = json::parse(request.payload_json());
      EventSpec spec{request.charger_id(), transaction_id};
      if (echo_remote_start_id) spec.remote_start_id = payload["remoteStartId"].get<int64_t>();
      spec.charging_state = "Charging";
      fake_.Later(100ms, [this, spec, replica] { EXPECT_TRUE(ReportEvent(spec, replica).ok()); });
      *response = Result({{"status", "Accepted"}});
      return grpc::Status::OK;
    });
  }

  grpc::Status Start(const std::string& charger_id,
                     csms::control::v1::StartTransactionResponse* out,
                     const std::string& id_token = "TOKEN-1") {
    csms::control::v1::StartTransactionRequest request;
    request.set_charger_id(charger_id);
    request.set_id_token(id_token);
    grpc::ClientContext context;
    return control_->StartTransaction(&context, request, out);
  }

  grpc::Status Stop(const std::string& charger_id, const std::string& transaction_id,
                    csms::control::v1::StopTransactionResponse* out) {
    csms::control::v1::StopTransactionRequest request;
    request.set_charger_id(charger_id);
    request.set_transaction_id(transaction_id);
    grpc::ClientContext context;
    return control_->StopTransaction(&context, request, out);
  }

  grpc::Status SetLimit(const std::string& charger_id, double kw,
                        csms::control::v1::SetChargingLimitResponse* out) {
    csms::control::v1::SetChargingLimitRequest request;
    request.set_charger_id(charger_id);
    request.set_max_power_kw(kw);
    grpc::ClientContext context;
    return control_->SetChargingLimit(&context, request, out);
  }

  grpc::Status Get(const std::string& charger_id, Charger* out) {
    csms::control::v1::GetChargerRequest request;
    request.set_charger_id(charger_id);
    grpc::ClientContext context;
    return control_->GetCharger(&context, request, out);
  }

  Charger MustGet(const std::string& charger_id) {
    Charger charger;
    grpc::Status status = Get(charger_id, &charger);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return charger;
  }

  testing::TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<ControlStores> stores_;
  std::unique_ptr<WriteBatcher> batcher_;
  EventWaiter waiter_;
  ChargerLinkClient link_;
  std::unique_ptr<StationEventServiceImpl> events_service_;
  std::unique_ptr<ControlServiceImpl> control_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<csms::control::v1::ControlService::Stub> control_;
  std::unique_ptr<csms::control::v1::StationEventService::Stub> events_;
  FakeChargerLink fake_;
  std::unique_ptr<grpc::Server> fake_server_;
  std::string gateway_address_;
};

TEST_F(ControlIntegrationTest, MigrationsApplyOnce) {
  pqxx::connection conn(db_.url());
  EXPECT_EQ(pg::ApplyMigrations(conn, "control", ControlMigrations()), 0);
}

TEST_F(ControlIntegrationTest, StartTransactionWaitsForTheStartedEvent) {
  Register("CP-1");
  AcceptStartsAndReport("tx-100");
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.charger_id(), "CP-1");
  EXPECT_EQ(response.transaction_id(), "tx-100");

  auto calls = fake_.Calls("RequestStartTransaction");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].charger_id(), "CP-1");
  json payload = json::parse(calls[0].payload_json());
  EXPECT_EQ(payload, json({{"idToken", {{"idToken", "TOKEN-1"}, {"type", "Central"}}},
                           {"remoteStartId", response.remote_start_id()},
                           {"evseId", 1}}));
  EXPECT_GT(calls[0].timeout_ms(), 0);
}

TEST_F(ControlIntegrationTest, RemoteStartIdsAreFresh) {
  Register("CP-1");
  AcceptStartsAndReport("tx-a");
  csms::control::v1::StartTransactionResponse first, second;
  ASSERT_TRUE(Start("CP-1", &first).ok());
  AcceptStartsAndReport("tx-b");
  ASSERT_TRUE(Start("CP-1", &second).ok());
  EXPECT_NE(first.remote_start_id(), second.remote_start_id());
  EXPECT_EQ(second.transaction_id(), "tx-b");
}

TEST_F(ControlIntegrationTest, StartCorrelatesSeedDialectEventWithoutRemoteStartId) {
  Register("CP-1");
  AcceptStartsAndReport("seed-tx-1", /*echo_remote_start_id=*/false);
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.transaction_id(), "seed-tx-1");
}

TEST_F(ControlIntegrationTest, StartSeesStartedEventThatReachedAnotherReplica) {
  // A second control replica on the same database, with its own in-process wake-ups: only the
  // database poll can tell this replica that the transaction started.
  EventWaiter other_waiter;
  ControlStores other_stores(*pool_);
  WriteBatcher other_batcher(other_stores.registry);
  StationEventServiceImpl other_replica(other_batcher, link_, other_waiter, 30);
  int port = 0;
  auto other_server = StartServer({&other_replica}, &port);
  ASSERT_TRUE(other_server);
  auto other_events = csms::control::v1::StationEventService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  Register("CP-1");
  AcceptStartsAndReport("tx-elsewhere", /*echo_remote_start_id=*/true, other_events.get());
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.transaction_id(), "tx-elsewhere");
  fake_.JoinAll();
  other_server->Shutdown(std::chrono::system_clock::now() + 1s);
}

TEST_F(ControlIntegrationTest, SeedDialectCorrelationNeedsARecentRequestOnTheSameEvse) {
  Register("CP-1");
  int64_t stale = stores_->remote_starts.Create("CP-1", 1, "T");
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec_params0(
        "UPDATE remote_starts SET requested_at = now() - interval '2 minutes'"
        " WHERE remote_start_id = $1",
        stale);
    txn.commit();
  }
  int64_t other_evse = stores_->remote_starts.Create("CP-1", 2, "T");
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-evse1")).ok());
  EXPECT_EQ(stores_->remote_starts.TransactionOf(stale), "");
  EXPECT_EQ(stores_->remote_starts.TransactionOf(other_evse), "");

  int64_t fresh = stores_->remote_starts.Create("CP-1", 1, "T");
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-evse1-b")).ok());
  EXPECT_EQ(stores_->remote_starts.TransactionOf(fresh), "tx-evse1-b");
  // Later events of the same transaction do not claim anything else.
  int64_t next = stores_->remote_starts.Create("CP-1", 1, "T");
  EventSpec updated("CP-1", "tx-evse1-b", kUpdated);
  updated.order_key = 1;
  ASSERT_TRUE(ReportEvent(updated).ok());
  EXPECT_EQ(stores_->remote_starts.TransactionOf(next), "");
}

TEST_F(ControlIntegrationTest, StartReturnsTheTransactionTheChargerAlreadyHad) {
  Register("CP-1");
  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Accepted"}, {"transactionId", "cable-first"}});
    return grpc::Status::OK;
  });
  csms::control::v1::StartTransactionResponse response;
  ASSERT_TRUE(Start("CP-1", &response).ok());
  EXPECT_EQ(response.transaction_id(), "cable-first");
}

TEST_F(ControlIntegrationTest, StartTimesOutWithoutStartedEvent) {
  Register("CP-1");
  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Accepted"}});
    return grpc::Status::OK;
  });
  csms::control::v1::StartTransactionResponse response;
  auto begin = std::chrono::steady_clock::now();
  grpc::Status status = Start("CP-1", &response);
  auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(status.error_message(),
            "charger accepted but sent no TransactionEvent Started within 2 s");
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 5s);

  // A late Started of another session must not be taken for the timed-out start.
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "local-tx")).ok());
  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  auto row = txn.exec1("SELECT status, transaction_id IS NULL AS open FROM remote_starts");
  EXPECT_EQ(row["status"].as<std::string>(), "TimedOut");
  EXPECT_TRUE(row["open"].as<bool>());
}

TEST_F(ControlIntegrationTest, RejectedStartIsFailedPrecondition) {
  Register("CP-1");
  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Rejected"}, {"statusInfo", {{"reasonCode", "Occupied"}}}});
    return grpc::Status::OK;
  });
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "charger CP-1 rejected RequestStartTransaction: Occupied");
}

TEST_F(ControlIntegrationTest, CallErrorIsFailedPrecondition) {
  Register("CP-1");
  fake_.On("SetChargingProfile", [](const CallRequest&, CallResponse* response) {
    response->mutable_error()->set_error_code("NotSupported");
    response->mutable_error()->set_description("no smart charging");
    return grpc::Status::OK;
  });
  csms::control::v1::SetChargingLimitResponse response;
  grpc::Status status = SetLimit("CP-1", 11, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "charger CP-1 rejected SetChargingProfile: NotSupported: no smart charging");
  EXPECT_FALSE(MustGet("CP-1").has_charging_limit_kw());
}

// The same outcomes, codes and messages as every command (CommandFailure).
TEST_F(ControlIntegrationTest, GatewayFailuresAreMapped) {
  Register("CP-1");
  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse*) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "not connected here");
  });
  csms::control::v1::StartTransactionResponse response;
  grpc::Status status = Start("CP-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "charger CP-1 is not connected");

  fake_.On("RequestStartTransaction", [](const CallRequest&, CallResponse*) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer");
  });
  status = Start("CP-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(status.error_message(), "charger CP-1 did not answer RequestStartTransaction in time");

  // A gateway that is gone leaves the charger as unreachable as one that left.
  fake_server_->Shutdown(std::chrono::system_clock::now());
  status = Start("CP-1", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message().rfind("the gateway holding charger CP-1 cannot be reached", 0),
            0u)
      << status.error_message();
}

TEST_F(ControlIntegrationTest, StopTransactionWaitsForEndedAndReturnsFigures) {
  Register("CP-1");
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-7", kStarted, "Charging", 7000.0)).ok());
  fake_.On("RequestStopTransaction", [this](const CallRequest& request, CallResponse* response) {
    EXPECT_EQ(json::parse(request.payload_json()), json({{"transactionId", "tx-7"}}));
    fake_.Later(100ms, [this] {
      EventSpec ended{"CP-1", "tx-7", kEnded};
      ended.energy_kwh = 25.5;
      ended.cost = 3825;
      ended.order_key = int64_t{1} << 31;
      EXPECT_TRUE(ReportEvent(ended).ok());
    });
    *response = Result({{"status", "Accepted"}});
    return grpc::Status::OK;
  });
  csms::control::v1::StopTransactionResponse response;
  grpc::Status status = Stop("CP-1", "tx-7", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.transaction_id(), "tx-7");
  EXPECT_DOUBLE_EQ(response.energy_consumed_kwh(), 25.5);
  EXPECT_DOUBLE_EQ(response.cost(), 3825);
  EXPECT_EQ(response.currency(), "KRW");

  // Stopping again answers from the store, even once the charger is gone.
  Disconnect("CP-1", "conn-1");
  csms::control::v1::StopTransactionResponse again;
  ASSERT_TRUE(Stop("CP-1", "tx-7", &again).ok());
  EXPECT_DOUBLE_EQ(again.energy_consumed_kwh(), 25.5);
  EXPECT_EQ(fake_.Calls("RequestStopTransaction").size(), 1u);
}

TEST_F(ControlIntegrationTest, StopUnknownOrRejected) {
  Register("CP-1");
  csms::control::v1::StopTransactionResponse response;
  EXPECT_EQ(Stop("CP-1", "nope", &response).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Stop("CP-1", "", &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-8")).ok());
  fake_.On("RequestStopTransaction", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Rejected"}});
    return grpc::Status::OK;
  });
  EXPECT_EQ(Stop("CP-1", "tx-8", &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ControlIntegrationTest, SetChargingLimitSendsStationMaxProfileInWatts) {
  Register("CP-1");
  fake_.On("SetChargingProfile", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Accepted"}});
    return grpc::Status::OK;
  });
  csms::control::v1::SetChargingLimitResponse response;
  grpc::Status status = SetLimit("CP-1", 50, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_DOUBLE_EQ(response.current_power_kw(), 50.0);

  auto calls = fake_.Calls("SetChargingProfile");
  ASSERT_EQ(calls.size(), 1u);
  json payload = json::parse(calls[0].payload_json());
  EXPECT_EQ(payload["evseId"], 0);
  const json& profile = payload["chargingProfile"];
  EXPECT_EQ(profile["chargingProfilePurpose"], "ChargingStationMaxProfile");
  EXPECT_EQ(profile["chargingProfileKind"], "Absolute");
  const json& schedule = profile["chargingSchedule"][0];
  EXPECT_TRUE(ParseRfc3339(schedule["startSchedule"].get<std::string>()).has_value());
  EXPECT_EQ(schedule["chargingRateUnit"], "W");
  EXPECT_DOUBLE_EQ(schedule["chargingSchedulePeriod"][0]["limit"].get<double>(), 50000.0);

  // A new limit reuses the profile id, so it replaces the old one on the charger.
  csms::control::v1::SetChargingLimitResponse second;
  ASSERT_TRUE(SetLimit("CP-1", 22, &second).ok());
  EXPECT_EQ(second.charging_profile_id(), response.charging_profile_id());
  EXPECT_EQ(
      json::parse(fake_.Calls("SetChargingProfile")[1].payload_json())["chargingProfile"]["id"],
      profile["id"]);
  EXPECT_DOUBLE_EQ(MustGet("CP-1").charging_limit_kw(), 22.0);
}

TEST_F(ControlIntegrationTest, SetChargingLimitValidatesAndHonoursRejection) {
  Register("CP-1");
  csms::control::v1::SetChargingLimitResponse response;
  for (double bad : {0.0, -5.0, std::nan(""), HUGE_VAL}) {
    EXPECT_EQ(SetLimit("CP-1", bad, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad;
  }
  fake_.On("SetChargingProfile", [](const CallRequest&, CallResponse* response) {
    *response = Result({{"status", "Rejected"}});
    return grpc::Status::OK;
  });
  EXPECT_EQ(SetLimit("CP-1", 10, &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_FALSE(MustGet("CP-1").has_charging_limit_kw());
  EXPECT_TRUE(fake_.Calls("SetChargingProfile").size() == 1u);
}

TEST_F(ControlIntegrationTest, OfflineAndUnknownChargers) {
  Register("CP-1");
  Disconnect("CP-1", "conn-1");
  csms::control::v1::StartTransactionResponse start;
  grpc::Status status = Start("CP-1", &start);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "charger CP-1 is offline");
  csms::control::v1::SetChargingLimitResponse limit;
  EXPECT_EQ(SetLimit("CP-1", 10, &limit).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(fake_.Calls("RequestStartTransaction").empty());

  status = Start("CP-404", &start);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "charger CP-404 is not registered");
  csms::control::v1::StopTransactionResponse stop;
  EXPECT_EQ(Stop("CP-404", "tx", &stop).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(SetLimit("CP-404", 10, &limit).error_code(), grpc::StatusCode::NOT_FOUND);
  Charger charger;
  EXPECT_EQ(Get("CP-404", &charger).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ControlIntegrationTest, StartValidatesInput) {
  Register("CP-1");
  csms::control::v1::StartTransactionResponse response;
  EXPECT_EQ(Start("CP-1", &response, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Start("CP-1", &response, std::string(37, 'x')).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(fake_.Calls("RequestStartTransaction").empty());
}

TEST_F(ControlIntegrationTest, LateDisconnectOfOldConnectionKeepsNewOneOnline) {
  Register("CP-1", "conn-old");
  Connect("CP-1", "conn-new");
  Disconnect("CP-1", "conn-old");
  Charger charger = MustGet("CP-1");
  EXPECT_TRUE(charger.connected());
  EXPECT_EQ(charger.status(), "Available");

  Disconnect("CP-1", "conn-new");
  charger = MustGet("CP-1");
  EXPECT_FALSE(charger.connected());
  EXPECT_EQ(charger.status(), "Offline");
}

// One live connection per charger across gateways: the newer connection stays, control asks the
// gateway holding the older one to close it, and a late report of the older one changes nothing.
TEST_F(ControlIntegrationTest, NewerConnectionReplacesOlderOneOnAnyGateway) {
  const TimePoint t0 = RealClock().Now();
  Register("CP-1", "conn-old");
  Connect("CP-1", "conn-new", t0 + std::chrono::seconds(5));
  auto wait_for_disconnects = [&](size_t n) {
    for (int i = 0; i < 100 && fake_.Disconnects().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return fake_.Disconnects();
  };
  auto disconnects = wait_for_disconnects(1);
  ASSERT_EQ(disconnects.size(), 1u);
  EXPECT_EQ(disconnects[0].charger_id(), "CP-1");
  EXPECT_EQ(disconnects[0].connection_id(), "conn-old");

  // The old connection's StationConnected retried late: ignored, and that connection is closed.
  Connect("CP-1", "conn-old", t0);
  disconnects = wait_for_disconnects(2);
  ASSERT_EQ(disconnects.size(), 2u);
  EXPECT_EQ(disconnects[1].connection_id(), "conn-old");

  // A late status of the old connection does not overwrite the new connection's state.
  ASSERT_TRUE(stores_->registry.UpsertConnectorStatus("CP-1", "conn-new", 1, 1, "Occupied",
                                                      t0 + std::chrono::seconds(6)));
  EXPECT_FALSE(stores_->registry.UpsertConnectorStatus("CP-1", "conn-old", 1, 1, "Faulted",
                                                       t0 + std::chrono::seconds(7)));
  Charger charger = MustGet("CP-1");
  EXPECT_TRUE(charger.connected());
  EXPECT_EQ(charger.status(), "Occupied");
}

TEST_F(ControlIntegrationTest, RegistrationSurvivesReconnect) {
  EXPECT_EQ(Connect("CP-1", "c1").registration_status(), "");
  Register("CP-1", "c1");
  Disconnect("CP-1", "c1");
  EXPECT_EQ(Connect("CP-1", "c2").registration_status(), "Accepted");

  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.vendor(), "Acme");
  EXPECT_EQ(charger.model(), "Fast-50");
  EXPECT_EQ(charger.serial_number(), "SN-1");
  EXPECT_EQ(charger.firmware_version(), "1.2.3");
  EXPECT_EQ(charger.registration_status(), "Accepted");
  EXPECT_EQ(charger.gateway_address(), gateway_address_);
  EXPECT_TRUE(charger.has_last_seen());

  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM boot_log WHERE charger_id = 'CP-1'"
                      " AND decided_status = 'Accepted' AND reason = 'PowerUp'")[0]
                .as<int>(),
            1);
}

TEST_F(ControlIntegrationTest, BootAnswersConfiguredInterval) {
  csms::control::v1::BootNotificationRequest boot;
  boot.set_charger_id("CP-9");
  boot.set_reason("PowerUp");
  csms::control::v1::BootNotificationResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(events_->BootNotification(&context, boot, &response).ok());
  EXPECT_EQ(response.status(), "Accepted");
  EXPECT_EQ(response.interval_seconds(), 30);
}

TEST_F(ControlIntegrationTest, GetChargerShowsLiveTransaction) {
  Register("CP-1");
  EventSpec started{"CP-1", "tx-live", kStarted, "Charging", 7400.0, 0.0};
  ASSERT_TRUE(ReportEvent(started).ok());
  EventSpec updated{"CP-1", "tx-live", kUpdated, "", 11000.0, 1.25};
  updated.order_key = 1;
  ASSERT_TRUE(ReportEvent(updated).ok());
  ReportStatus("CP-1", 1, "Occupied", RealClock().Now());

  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.status(), "Charging");  // an empty state keeps the previous one
  EXPECT_EQ(charger.transaction_id(), "tx-live");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 11.0);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 1.25);
  EXPECT_TRUE(charger.connected());

  EventSpec suspended = updated;
  suspended.charging_state = "SuspendedEV";
  suspended.power_w.reset();
  suspended.order_key = 2;
  ASSERT_TRUE(ReportEvent(suspended).ok());
  charger = MustGet("CP-1");
  EXPECT_EQ(charger.status(), "SuspendedEV");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 11.0);  // no new power sample

  EventSpec ended{"CP-1", "tx-live", kEnded};
  ended.energy_kwh = 3.0;
  ended.order_key = 3;
  ASSERT_TRUE(ReportEvent(ended).ok());
  charger = MustGet("CP-1");
  EXPECT_EQ(charger.status(), "Occupied");
  EXPECT_EQ(charger.transaction_id(), "");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 0);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 0);
}

TEST_F(ControlIntegrationTest, UpdatedAfterEndedDoesNotReactivate) {
  Register("CP-1");
  ASSERT_TRUE(ReportEvent(EventSpec("CP-1", "tx-ooo", kStarted, "Charging", 5000.0)).ok());
  EventSpec ended{"CP-1", "tx-ooo", kEnded};
  ended.energy_kwh = 10;
  ended.cost = 1500;
  ended.order_key = 5;
  ASSERT_TRUE(ReportEvent(ended).ok());
  EventSpec late{"CP-1", "tx-ooo", kUpdated, "Charging", 6000.0, 4.0};
  late.order_key = 3;
  ASSERT_TRUE(ReportEvent(late).ok());

  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.transaction_id(), "");
  EXPECT_EQ(charger.status(), "Available");
  auto tx = stores_->registry.FindTransaction("CP-1", "tx-ooo");
  ASSERT_TRUE(tx.has_value());
  EXPECT_TRUE(tx->ended);
  EXPECT_DOUBLE_EQ(tx->energy_kwh, 10);
  EXPECT_DOUBLE_EQ(tx->cost, 1500);
}

TEST_F(ControlIntegrationTest, ConnectorStatusKeepsTheNewestReport) {
  Register("CP-1");
  TimePoint now = RealClock().Now();
  ReportStatus("CP-1", 2, "Faulted", now + 10s);
  ReportStatus("CP-1", 2, "Available", now + 5s);  // older, arrives late
  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.status(), "Faulted");
  ASSERT_EQ(charger.connectors_size(), 2);
  EXPECT_EQ(charger.connectors(1).connector_id(), 2);
  EXPECT_EQ(charger.connectors(1).status(), "Faulted");
}

// A gateway that dies reports no disconnects: its chargers would look connected forever. Silence
// past the limit reads as offline, for the views and for commands, until the charger is heard
// from again (through any gateway).
TEST_F(ControlIntegrationTest, ASilentChargerIsOfflineUntilHeardFromAgain) {
  control_service_->set_offline_after(90s);
  Connect("CP-quiet", "conn-q", RealClock().Now() - 10min);
  Register("CP-talking");
  EXPECT_FALSE(MustGet("CP-quiet").connected());
  EXPECT_EQ(MustGet("CP-quiet").status(), "Offline");
  EXPECT_TRUE(MustGet("CP-talking").connected());
  csms::control::v1::StartTransactionResponse started;
  grpc::Status refused = Start("CP-quiet", &started);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("not been heard from"), std::string::npos)
      << refused.error_message();
  EXPECT_TRUE(fake_.Calls("RequestStartTransaction").empty()) << "nothing may go to a gone charger";

  csms::control::v1::LastSeenBatch batch;
  auto* entry = batch.add_entries();
  entry->set_charger_id("CP-quiet");
  *entry->mutable_seen_at() = ToProto(RealClock().Now());
  csms::control::v1::ReportResponse ignored;
  grpc::ClientContext context;
  ASSERT_TRUE(events_->ReportLastSeen(&context, batch, &ignored).ok());
  EXPECT_TRUE(MustGet("CP-quiet").connected());
  EXPECT_NE(MustGet("CP-quiet").status(), "Offline");
}

TEST_F(ControlIntegrationTest, LastSeenBatchAndList) {
  Register("CP-1");
  Register("CP-2");
  TimePoint later = RealClock().Now() + 60s;
  csms::control::v1::LastSeenBatch batch;
  for (const char* id : {"CP-1", "CP-2", "CP-unknown"}) {
    auto* entry = batch.add_entries();
    entry->set_charger_id(id);
    *entry->mutable_seen_at() = ToProto(later);
  }
  // The same charger twice in one batch keeps the newest time.
  auto* older = batch.add_entries();
  older->set_charger_id("CP-1");
  *older->mutable_seen_at() = ToProto(later - 30s);
  csms::control::v1::ReportResponse ignored;
  grpc::ClientContext context;
  ASSERT_TRUE(events_->ReportLastSeen(&context, batch, &ignored).ok());

  csms::control::v1::ListChargersResponse list;
  grpc::ClientContext list_context;
  ASSERT_TRUE(control_->ListChargers(&list_context, {}, &list).ok());
  ASSERT_EQ(list.chargers_size(), 2);
  for (const auto& charger : list.chargers()) {
    EXPECT_EQ(FromProto(charger.last_seen()).time_since_epoch() / 1ms,
              later.time_since_epoch() / 1ms)
        << charger.charger_id();
    EXPECT_EQ(charger.status(), "Available");
    EXPECT_EQ(charger.connectors_size(), 1);
  }
  EXPECT_EQ(list.chargers(0).charger_id(), "CP-1");
  EXPECT_EQ(list.chargers(1).charger_id(), "CP-2");
}

// --- Group commit: the gateways' writes are applied in batches. ---

// Queues ops while the writers are paused, so they all land in one batch, then collects results.
class HeldBatch {
 public:
  explicit HeldBatch(WriteBatcher& batcher) : batcher_(batcher) { batcher_.PauseForTest(); }
  ~HeldBatch() { batcher_.ResumeForTest(); }

  size_t Add(WriteOp op) {
    auto promise = std::make_shared<std::promise<WriteResult>>();
    futures_.push_back(promise->get_future());
    batcher_.Submit(std::move(op), [promise](std::exception_ptr error, const WriteResult& result) {
      if (error) {
        promise->set_exception(error);
      } else {
        promise->set_value(result);
      }
    });
    return futures_.size() - 1;
  }

  void Run() { batcher_.ResumeForTest(); }
  std::future<WriteResult>& operator[](size_t i) { return futures_[i]; }

 private:
  WriteBatcher& batcher_;
  std::vector<std::future<WriteResult>> futures_;
};

TransactionEventOp TxOp(const std::string& charger, const std::string& tx,
                        csms::ocpp::v1::TransactionEventType type, int64_t order_key,
                        const std::string& state, double power_w, double energy_kwh) {
  TransactionEventOp op;
  auto* ev = op.report.mutable_event();
  ev->set_charger_id(charger);
  ev->set_connection_id("conn-1");
  ev->set_transaction_id(tx);
  ev->set_event_type(type);
  ev->set_order_key(order_key);
  ev->set_evse_id(1);
  ev->set_charging_state(state);
  ev->set_power_w(power_w);
  *ev->mutable_timestamp() = ToProto(RealClock().Now());
  op.report.set_energy_consumed_kwh(energy_kwh);
  op.report.set_currency("KRW");
  return op;
}

TEST_F(ControlIntegrationTest, ManyConcurrentBootsOfSameAndDifferentChargers) {
  constexpr int kChargers = 300;
  constexpr int kSameChargerBoots = 30;
  const TimePoint t0 = RealClock().Now();
  std::atomic<int> accepted{0}, failed{0};
  auto boot = [&](const std::string& id, const std::string& connection, TimePoint at) {
    csms::control::v1::StationConnectedRequest connect;
    connect.set_charger_id(id);
    connect.set_connection_id(connection);
    connect.set_gateway_address(gateway_address_);
    *connect.mutable_connected_at() = ToProto(at);
    csms::control::v1::StationConnectedResponse connected;
    grpc::ClientContext connect_context;
    if (!events_->StationConnected(&connect_context, connect, &connected).ok()) ++failed;
    csms::control::v1::BootNotificationRequest request;
    request.set_charger_id(id);
    request.set_connection_id(connection);
    request.set_reason("PowerUp");
    request.set_vendor("Acme");
    csms::control::v1::BootNotificationResponse response;
    grpc::ClientContext boot_context;
    if (events_->BootNotification(&boot_context, request, &response).ok() &&
        response.status() == "Accepted") {
      ++accepted;
    } else {
      ++failed;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kChargers; i += 10) boot("CP-" + std::to_string(i), "c", t0);
      // The same charger reconnecting again and again; the newest connection must win.
      for (int i = t; i < kSameChargerBoots; i += 10) {
        boot("CP-same", "conn-" + std::to_string(i), t0 + std::chrono::milliseconds(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(accepted.load(), kChargers + kSameChargerBoots);

  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM chargers WHERE registration_status = 'Accepted'"
                      " AND connected AND vendor = 'Acme'")[0]
                .as<int>(),
            kChargers + 1);
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM boot_log")[0].as<int>(), kChargers + kSameChargerBoots);
  EXPECT_EQ(txn.exec1("SELECT connection_id FROM chargers WHERE charger_id = 'CP-same'")[0]
                .as<std::string>(),
            "conn-" + std::to_string(kSameChargerBoots - 1));
}

// Within one batch the ops apply in arrival order, exactly as one after the other: a stale
// connection's reports change nothing once a newer connection is recorded, and an older
// TransactionEvent does not roll back newer live state.
TEST_F(ControlIntegrationTest, StaleReportsInsideOneBatchDoNotOverwriteNewerState) {
  const TimePoint t0 = RealClock().Now();
  Register("CP-1", "conn-old");
  std::vector<WriteResult> results;
  {
    HeldBatch batch(*batcher_);
    batch.Add(ConnectOp{"CP-1", "conn-new", gateway_address_, t0 + 5s});
    batch.Add(StatusOp{"CP-1", "conn-new", 1, 1, "Occupied", t0 + 6s});
    batch.Add(StatusOp{"CP-1", "conn-old", 1, 1, "Faulted", t0 + 7s});
    batch.Add(DisconnectOp{"CP-1", "conn-old", t0 + 8s});
    batch.Add(ConnectOp{"CP-1", "conn-old", gateway_address_, t0});  // a late retry
    batch.Add(TxOp("CP-1", "tx-1", kStarted, 0, "Charging", 7000, 0));
    batch.Add(TxOp("CP-1", "tx-1", kUpdated, 2, "Charging", 11000, 2.0));
    batch.Add(TxOp("CP-1", "tx-1", kUpdated, 1, "SuspendedEV", 1000, 1.0));  // older, late
    batch.Add(TxOp("CP-2", "tx-2", kStarted, 0, "Charging", 3000, 0));
    batch.Add(TxOp("CP-2", "tx-2", kEnded, 5, "", 0, 4.0));
    batch.Add(TxOp("CP-2", "tx-2", kUpdated, 3, "Charging", 3000, 3.0));  // after Ended
    LastSeenOp seen;
    seen.entries = {{"CP-1", t0 + 60s}, {"CP-unknown", t0}};
    batch.Add(seen);
    batch.Run();
    for (size_t i = 0; i < 12; ++i) results.push_back(batch[i].get());
  }
  EXPECT_EQ(results[0].connect.close_connection_id, "conn-old");
  EXPECT_EQ(results[0].connect.registration_status, "Accepted");
  EXPECT_TRUE(results[1].applied);
  EXPECT_FALSE(results[2].applied);
  EXPECT_FALSE(results[3].applied);
  EXPECT_EQ(results[4].connect.close_connection_id, "conn-old");

  Charger charger = MustGet("CP-1");
  EXPECT_TRUE(charger.connected());
  EXPECT_EQ(charger.status(), "Charging");
  EXPECT_EQ(charger.transaction_id(), "tx-1");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 11.0);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 2.0);
  EXPECT_EQ(charger.connectors(0).status(), "Occupied");
  EXPECT_EQ(FromProto(charger.last_seen()).time_since_epoch() / 1ms,
            (t0 + 60s).time_since_epoch() / 1ms);

  Charger other = MustGet("CP-2");  // created by its TransactionEvent, never connected
  EXPECT_EQ(other.transaction_id(), "");
  auto tx = stores_->registry.FindTransaction("CP-2", "tx-2");
  ASSERT_TRUE(tx.has_value());
  EXPECT_TRUE(tx->ended);
  EXPECT_DOUBLE_EQ(tx->energy_kwh, 4.0);
  Charger unknown;
  EXPECT_EQ(Get("CP-unknown", &unknown).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ControlIntegrationTest, FailingWriteInABatchFailsOnlyItsOwnCaller) {
  {
    // A statement that fails for one charger only, as a bad row would.
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec0(R"sql(
CREATE FUNCTION refuse_bad_boot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.charger_id = 'CP-bad' THEN RAISE EXCEPTION 'refused'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_bad_boot BEFORE INSERT ON boot_log
  FOR EACH ROW EXECUTE FUNCTION refuse_bad_boot();
)sql");
    txn.commit();
  }
  std::vector<std::string> ids = {"CP-a", "CP-bad", "CP-b"};
  HeldBatch batch(*batcher_);
  for (const auto& id : ids) {
    batch.Add(BootOp{{id, "c", "PowerUp", "Acme", "M", "S", "F"}, "Accepted"});
  }
  batch.Add(StatusOp{"CP-a", "", 1, 1, "Available", RealClock().Now()});
  batch.Run();
  EXPECT_NO_THROW(batch[0].get());
  EXPECT_THROW(batch[1].get(), pqxx::sql_error);
  EXPECT_NO_THROW(batch[2].get());
  EXPECT_TRUE(batch[3].get().applied);

  EXPECT_EQ(MustGet("CP-a").registration_status(), "Accepted");
  EXPECT_EQ(MustGet("CP-b").registration_status(), "Accepted");
  Charger bad;
  EXPECT_EQ(Get("CP-bad", &bad).error_code(), grpc::StatusCode::NOT_FOUND);

  // Through gRPC the failed write is an INTERNAL error the gateway retries, never an OK.
  csms::control::v1::BootNotificationRequest request;
  request.set_charger_id("CP-bad");
  csms::control::v1::BootNotificationResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(events_->BootNotification(&context, request, &response).error_code(),
            grpc::StatusCode::INTERNAL);
}

// A NUL in a charger's text (JSON "\u0000") used to cut the batch's array literal short, so
// every batch holding it failed for all chargers in it; it now ends that one value, as libpq
// does for scalar parameters.
TEST_F(ControlIntegrationTest, ANulFromOneChargerFailsNoOtherChargerOfItsBatch) {
  HeldBatch batch(*batcher_);
  batch.Add(
      BootOp{{"CP-nul", "c", "PowerUp", std::string("Ac\0me\"}", 7), "M", "S", "F"}, "Accepted"});
  batch.Add(BootOp{{"CP-ok", "c", "PowerUp", "Acme", "M", "S", "F"}, "Accepted"});
  batch.Run();
  EXPECT_NO_THROW(batch[0].get());
  EXPECT_NO_THROW(batch[1].get());
  EXPECT_EQ(MustGet("CP-nul").vendor(), "Ac");
  EXPECT_EQ(MustGet("CP-ok").vendor(), "Acme");
}

TEST_F(ControlIntegrationTest, ConcurrentTransactionEventsKeepTheNewest) {
  Register("CP-1");
  // Many events of one transaction, sent concurrently in random order: the newest order_key
  // wins, whatever the batches were.
  constexpr int kEvents = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kEvents; i += 8) {
        EventSpec spec("CP-1", "tx-many", i == 0 ? kStarted : kUpdated, "Charging", 1000.0 * i,
                       0.5 * i);
        spec.order_key = (i * 37) % kEvents;  // a permutation of 0..kEvents-1
        spec.power_w = 1000.0 * spec.order_key;
        spec.energy_kwh = 0.5 * spec.order_key;
        if (!ReportEvent(spec).ok()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  Charger charger = MustGet("CP-1");
  EXPECT_EQ(charger.transaction_id(), "tx-many");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), kEvents - 1);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 0.5 * (kEvents - 1));
}

// LISTEN/NOTIFY: an event committed by any replica wakes waiters at once, not at the next poll.
TEST_F(ControlIntegrationTest, NotifyWakesWaitersBeforeThePoll) {
  EventWaiter slow_poll(std::chrono::seconds(30));
  TransactionEventListener listener(db_.url(), slow_poll);
  std::this_thread::sleep_for(300ms);  // let it LISTEN
  Register("CP-1");
  fake_.Later(200ms, [this] {
    // Straight into the store, as another replica would: this process's waiter is not told.
    stores_->registry.ApplyTransactionEvent(
        TxOp("CP-1", "tx-notify", kStarted, 0, "Charging", 1000, 0).report);
  });
  auto begin = std::chrono::steady_clock::now();
  std::promise<bool> found;
  slow_poll.WaitAsync(
      std::chrono::steady_clock::now() + 10s,
      [&] { return stores_->registry.FindTransaction("CP-1", "tx-notify").has_value(); },
      [] { return false; }, [&](bool ok) { found.set_value(ok); });
  EXPECT_TRUE(found.get_future().get());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

// Many gateways' worth of fire-and-forget reports at once: every one answered OK and stored.
// Prints the rate (CSMS_REPORT_SECONDS lengthens the run for a benchmark).
TEST_F(ControlIntegrationTest, ReportsUnderConcurrentLoad) {
  constexpr int kChargers = 200;
  for (int i = 0; i < kChargers; ++i) Connect("CP-" + std::to_string(i), "conn-1");
  const char* seconds_env = std::getenv("CSMS_REPORT_SECONDS");
  const auto duration = std::chrono::milliseconds(
      static_cast<int>(1000 * (seconds_env != nullptr ? std::atof(seconds_env) : 1.0)));
  std::atomic<int64_t> sent{0}, failed{0};
  const auto end = std::chrono::steady_clock::now() + duration;
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t n = 0; std::chrono::steady_clock::now() < end; ++n) {
        const std::string charger = "CP-" + std::to_string((t + 64 * n) % kChargers);
        grpc::Status status;
        if (n % 2 == 0) {
          EventSpec spec(charger, "tx-" + charger, n == 0 ? kStarted : kUpdated, "Charging",
                         1000.0 * n, 0.1 * n);
          spec.order_key = n;
          status = ReportEvent(spec);
        } else {
          csms::control::v1::StatusReport report;
          report.set_charger_id(charger);
          report.set_connection_id("conn-1");
          report.set_evse_id(1);
          report.set_connector_id(1);
          report.set_status("Occupied");
          *report.mutable_timestamp() = ToProto(RealClock().Now());
          csms::control::v1::ReportResponse response;
          grpc::ClientContext context;
          status = events_->ReportStatus(&context, report, &response);
        }
        ++sent;
        if (!status.ok()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  const double rate = sent.load() / std::chrono::duration<double>(duration).count();
  std::cout << "reports: " << sent.load() << " in " << duration.count() << " ms = " << rate
            << "/s (64 concurrent callers)\n";
  EXPECT_EQ(MustGet("CP-0").status(), "Charging");
}

// No PostgreSQL needed: the database is simply unreachable.
TEST(ControlServiceWithoutDatabase, AnswersUnavailable) {
  pg::Pool pool("host=127.0.0.1 port=1 connect_timeout=2", 1);
  ControlStores stores(pool);
  EventWaiter waiter;
  ChargerLinkClient link;
  ControlServiceImpl service(stores, link, waiter, kCommandTimeout);
  grpc::ServerContext context;
  csms::control::v1::GetChargerRequest request;
  request.set_charger_id("CP-1");
  Charger charger;
  grpc::Status status = service.GetCharger(&context, &request, &charger);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message().rfind("control database unavailable: ", 0), 0u)
      << status.error_message();
}

// ReportBatch applies its reports in order, as the single RPCs would, and skips (does not fail
// on) a report that could never be stored.
TEST_F(ControlIntegrationTest, ReportBatchAppliesReportsInOrder) {
  Register("CP-B");
  csms::control::v1::ReportBatchRequest batch;
  auto tx_report = [](const std::string& type_state, csms::ocpp::v1::TransactionEventType type,
                      int64_t order_key, double power_w, double energy_kwh) {
    csms::control::v1::Report report;
    auto* r = report.mutable_transaction_event();
    auto* ev = r->mutable_event();
    ev->set_charger_id("CP-B");
    ev->set_connection_id("conn-1");
    ev->set_transaction_id("tx-batch");
    ev->set_event_type(type);
    ev->set_order_key(order_key);
    ev->set_evse_id(1);
    ev->set_charging_state(type_state);
    ev->set_power_w(power_w);
    *ev->mutable_timestamp() = ToProto(RealClock().Now());
    r->set_energy_consumed_kwh(energy_kwh);
    r->set_currency("KRW");
    return report;
  };
  auto* status = batch.add_reports()->mutable_status();
  status->set_charger_id("CP-B");
  status->set_connection_id("conn-1");
  status->set_evse_id(1);
  status->set_connector_id(1);
  status->set_status("Occupied");
  *status->mutable_timestamp() = ToProto(RealClock().Now());
  *batch.add_reports() = tx_report("Charging", kStarted, 0, 7400, 0);
  batch.add_reports();  // empty: skipped
  *batch.add_reports() = tx_report("Charging", kUpdated, 1, 11000, 1.25);
  auto* stale = batch.add_reports()->mutable_disconnected();  // not its current connection
  stale->set_charger_id("CP-B");
  stale->set_connection_id("conn-old");

  csms::control::v1::ReportResponse response;
  grpc::ClientContext context;
  const grpc::Status sent = events_->ReportBatch(&context, batch, &response);
  ASSERT_TRUE(sent.ok()) << sent.error_message();
  Charger charger = MustGet("CP-B");
  EXPECT_EQ(charger.status(), "Charging");
  EXPECT_EQ(charger.transaction_id(), "tx-batch");
  EXPECT_DOUBLE_EQ(charger.current_power_kw(), 11.0);
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 1.25);
  EXPECT_TRUE(charger.connected());

  // Sent again (the gateway resends a batch whose answer it lost): nothing changes.
  grpc::ClientContext again;
  ASSERT_TRUE(events_->ReportBatch(&again, batch, &response).ok());
  charger = MustGet("CP-B");
  EXPECT_EQ(charger.transaction_id(), "tx-batch");
  EXPECT_DOUBLE_EQ(charger.energy_accumulated_kwh(), 1.25);

  csms::control::v1::ReportBatchRequest gone;
  auto* disconnected = gone.add_reports()->mutable_disconnected();
  disconnected->set_charger_id("CP-B");
  disconnected->set_connection_id("conn-1");
  grpc::ClientContext last;
  ASSERT_TRUE(events_->ReportBatch(&last, gone, &response).ok());
  EXPECT_FALSE(MustGet("CP-B").connected());
}

// The gateway's batch of token decisions over gRPC: one result per request, in order; a bad
// request fails alone; TransactionEvents' tokens (read together) are decided as one by one.
TEST_F(ControlIntegrationTest, AuthorizeTokensAnswersEachRequestInOrder) {
  TokenSessionStore sessions(*pool_, TokenSessionStore::Options{});
  events_service_->set_authorization(
      {&stores_->tokens, &stores_->stations, &stores_->remote_starts, &sessions});
  TokenRecord token;
  token.type = "ISO14443";
  token.id_token = "CARD-1";
  token.account_id = "acct-1";
  stores_->tokens.Put(token, "test");
  csms::control::v1::AuthorizeTokensRequest request;
  auto add = [&](const std::string& charger, const std::string& id_token, const std::string& type,
                 const std::string& transaction_id) {
    auto* one = request.add_requests();
    one->set_charger_id(charger);
    one->set_id_token(id_token);
    one->set_type(type);
    if (!transaction_id.empty()) {
      one->mutable_transaction()->set_transaction_id(transaction_id);
      one->mutable_transaction()->set_event_type(ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED);
      one->mutable_transaction()->set_evse_id(1);
    }
  };
  add("CP-1", "card-1", "ISO14443", "tx-1");
  add("CP-1", "card-1", "ISO14443", "");  // an Authorize: no transaction
  add("CP-1", "x", "", "tx-bad");         // no type
  add("CP-2", "CARD-1", "ISO14443", "tx-2");
  add("CP-2", "nobody", "ISO14443", "tx-3");
  add("", "card-1", "ISO14443", "tx-4");  // no charger
  csms::control::v1::AuthorizeTokensResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(events_->AuthorizeTokens(&context, request, &response).ok());
  ASSERT_EQ(response.results_size(), 6);
  auto status = [&](int i) {
    const auto& r = response.results(i);
    return r.code() != 0 ? "code " + std::to_string(r.code()) : r.response().status();
  };
  EXPECT_EQ(status(0), "Accepted");
  EXPECT_EQ(response.results(0).response().account_id(), "acct-1");
  EXPECT_EQ(status(1), "Accepted");
  EXPECT_EQ(status(2), "code 3");
  EXPECT_EQ(status(3), "ConcurrentTx");
  EXPECT_EQ(status(4), "Unknown");
  EXPECT_EQ(status(5), "code 3");
  EXPECT_FALSE(response.results(2).message().empty());
}

}  // namespace
}  // namespace csms::control
