// The fixture of control's integration tests: the control service against a real PostgreSQL and
// real gRPC. A fake gateway ChargerLink plays the charger: it answers CALLs and reports
// TransactionEvents back the way the gateway would.
#pragma once

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

// A named namespace, not an anonymous one: every test file of the suite must see the same fixture.
namespace csms::control::integration_test {

using namespace std::chrono_literals;
using csms::control::v1::Charger;
using csms::gateway::v1::CallRequest;
using csms::gateway::v1::CallResponse;
using nlohmann::json;

constexpr auto kCommandTimeout = 2s;
constexpr auto kStarted = csms::ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED;
constexpr auto kUpdated = csms::ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED;
constexpr auto kEnded = csms::ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;

inline std::unique_ptr<grpc::Server> StartServer(const std::vector<grpc::Service*>& services,
                                                 int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
  for (auto* service : services) builder.RegisterService(service);
  return builder.BuildAndStart();
}

inline CallResponse Result(const json& payload) {
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

}  // namespace csms::control::integration_test
