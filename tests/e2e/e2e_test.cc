// End to end: the three real binaries over a real PostgreSQL, driven by raw WebSocket chargers,
// the charger simulator, REST and gRPC (with reflection).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <pqxx/pqxx>
#include <thread>

#include "csms/common/ocpp_frame.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "net_clients.h"
#include "ocpp_payloads.h"
#include "pg_test_db.h"
#include "shared_stack_test.h"
#include "stack.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class EndToEnd : public SharedStackTest<EndToEnd> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "e2e";
    options.timezone = "Asia/Seoul";
  }

 protected:
  // A raw charger that has connected and booted.
  std::unique_ptr<WsClient> BootedCharger(const std::string& id) {
    auto client = std::make_unique<WsClient>();
    EXPECT_TRUE(client->Connect(stack_->ocpp_port, "/ocpp/" + id));
    json reply = client->Call("BootNotification", BootPayload("SN-" + id));
    EXPECT_EQ(reply[0], 3) << reply.dump();
    EXPECT_EQ(reply[2]["status"], "Accepted") << reply.dump();
    return client;
  }

  // Polls GET /chargers/{id} until `pred` holds or the timeout passes.
  json WaitForCharger(const std::string& id, const std::function<bool(const json&)>& pred,
                      milliseconds timeout = seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    json last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = HttpCall(stack_->http_port, "GET", "/chargers/" + id);
      last = r.Json();
      if (r.status == 200 && pred(last)) return last;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return last;
  }

  pqxx::connection Db() { return pqxx::connection(db_->url()); }
};

TEST_F(EndToEnd, BootHeartbeatStatusAndChargerView) {
  auto charger = BootedCharger("e2e_basic_01");
  EXPECT_EQ(charger->selected_subprotocol(), "ocpp2.0.1");

  json heartbeat = charger->Call("Heartbeat", json::object());
  ASSERT_EQ(heartbeat[0], 3);
  ASSERT_TRUE(heartbeat[2].contains("currentTime"));
  EXPECT_EQ(heartbeat[2].size(), 1u);

  json status = charger->Call("StatusNotification", StatusPayload("Available"));
  ASSERT_EQ(status[0], 3) << status.dump();
  EXPECT_EQ(status[2], json::object());  // StatusNotificationResponse is {}

  json view =
      WaitForCharger("e2e_basic_01", [](const json& c) { return c["status"] == "Available"; });
  EXPECT_EQ(view["charger_id"], "e2e_basic_01");
  EXPECT_EQ(view["status"], "Available");
  EXPECT_EQ(view["connected"], true);
  EXPECT_EQ(view["transaction_id"], nullptr);

  // The boot was logged with what the charger said about itself.
  auto conn = Db();
  pqxx::work txn(conn);
  auto row = txn.exec1(
      "SELECT vendor, model, serial_number FROM chargers WHERE charger_id = "
      "'e2e_basic_01'");
  EXPECT_EQ(row[0].as<std::string>(), "ABB");
  EXPECT_EQ(row[1].as<std::string>(), "Terra 53");
  EXPECT_EQ(row[2].as<std::string>(), "SN-e2e_basic_01");
  EXPECT_EQ(
      txn.exec1("SELECT count(*) FROM boot_log WHERE charger_id = 'e2e_basic_01'")[0].as<int>(), 1);

  charger->Close();
  json offline =
      WaitForCharger("e2e_basic_01", [](const json& c) { return c["connected"] == false; });
  EXPECT_EQ(offline["status"], "Offline");
}

TEST_F(EndToEnd, BadInputGetsOcppErrorsAndTheConnectionKeepsWorking) {
  auto charger = BootedCharger("e2e_bad_01");
  auto other = BootedCharger("e2e_bad_02");

  auto expect_error = [&](const std::string& text, const std::string& id, const std::string& code) {
    ASSERT_TRUE(charger->SendText(text));
    auto reply = charger->Receive();
    ASSERT_TRUE(reply) << "no reply to " << text;
    json frame = json::parse(*reply);
    ASSERT_EQ(frame.size(), 5u) << *reply;
    EXPECT_EQ(frame[0], 4) << *reply;
    EXPECT_EQ(frame[1], id) << *reply;
    EXPECT_EQ(frame[2], code) << *reply;
    EXPECT_TRUE(frame[3].is_string());
    EXPECT_LE(frame[3].get<std::string>().size(), 255u);
    EXPECT_TRUE(frame[4].is_object());
  };
  expect_error("this is not json", "-1", "RpcFrameworkError");
  expect_error(R"({"not":"an array"})", "-1", "RpcFrameworkError");
  expect_error(R"([2,"m1","Heartbeat"])", "m1", "RpcFrameworkError");
  expect_error(R"([7,"m2",{}])", "m2", "MessageTypeNotSupported");
  expect_error(R"([2,"m3","FlyToTheMoon",{}])", "m3", "NotImplemented");
  expect_error(R"([2,"m4","Reset",{"type":"Immediate"}])", "m4", "NotSupported");
  expect_error(
      R"([2,"m5","StatusNotification",{"timestamp":"2026-11-24T09:00:00Z","connectorStatus":"Available","evseId":"1","connectorId":1}])",
      "m5", "TypeConstraintViolation");
  expect_error(
      R"([2,"m6","StatusNotification",{"timestamp":"2026-11-24T09:00:00Z","evseId":1,"connectorId":1}])",
      "m6", "OccurrenceConstraintViolation");
  expect_error(
      R"([2,"m7","StatusNotification",{"timestamp":"2026-11-24T09:00:00Z","connectorStatus":"Sleeping","evseId":1,"connectorId":1}])",
      "m7", "PropertyConstraintViolation");
  expect_error(
      R"([2,"m8","TransactionEvent",{"eventType":"Started","timestamp":"2026-11-24T09:00:00Z"}])",
      "m8", "OccurrenceConstraintViolation");
  expect_error(R"([2,"m9","BootNotification",[]])", "m9", "FormatViolation");
  ASSERT_TRUE(charger->SendBinary("\x01\x02"));
  auto binary_reply = charger->Receive();
  ASSERT_TRUE(binary_reply);
  EXPECT_EQ(json::parse(*binary_reply)[2], "RpcFrameworkError");

  // A reply to nothing is dropped, never answered with an error.
  ASSERT_TRUE(charger->SendText(R"([3,"nobody-asked",{}])"));
  EXPECT_FALSE(charger->Receive(milliseconds(300)));

  // Both connections still work.
  EXPECT_EQ(charger->Call("Heartbeat", json::object())[0], 3);
  EXPECT_EQ(other->Call("Heartbeat", json::object())[0], 3);
}

TEST_F(EndToEnd, HandshakeRefusesUnknownSubprotocolAndBadIdentity) {
  WsClient old_protocol;
  EXPECT_FALSE(old_protocol.Connect(stack_->ocpp_port, "/ocpp/e2e_hs_01", "ocpp1.6"));
  EXPECT_EQ(old_protocol.http_status(), 400);

  WsClient no_protocol;
  EXPECT_FALSE(no_protocol.Connect(stack_->ocpp_port, "/ocpp/e2e_hs_01", ""));
  EXPECT_EQ(no_protocol.http_status(), 400);

  WsClient bad_id;
  EXPECT_FALSE(bad_id.Connect(stack_->ocpp_port, "/ocpp/bad%2Fid", "ocpp2.0.1"));
  EXPECT_EQ(bad_id.http_status(), 404);

  WsClient preference;
  ASSERT_TRUE(preference.Connect(stack_->ocpp_port, "/ocpp/e2e_hs_02", "ocpp1.6, ocpp2.0.1"));
  EXPECT_EQ(preference.selected_subprotocol(), "ocpp2.0.1");
}

TEST_F(EndToEnd, HeartbeatBeforeBootIsRefusedWithSecurityError) {
  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack_->ocpp_port, "/ocpp/e2e_never_booted"));
  std::this_thread::sleep_for(milliseconds(300));  // let the gateway learn the registration
  json reply = charger.Call("Heartbeat", json::object());
  ASSERT_EQ(reply[0], 4) << reply.dump();
  EXPECT_EQ(reply[2], "SecurityError");
}

TEST_F(EndToEnd, StandardTransactionIsBilledAndIdempotent) {
  auto charger = BootedCharger("e2e_tx_01");
  const std::string tx = "tx-std-0001";
  // The token the events carry (StandardTxEvent's Central user_123) is a known one.
  ASSERT_EQ(HttpCall(stack_->http_port, "PUT", "/tokens/Central/user_123", "{}").status / 100, 2);
  // 16:30Z is 01:30 the next day in Asia/Seoul, the billing time zone of this stack.
  json started = charger->Call("TransactionEvent",
                               StandardTxEvent("Started", tx, 0, "2026-11-23T16:30:00Z", 1000));
  ASSERT_EQ(started[0], 3) << started.dump();
  EXPECT_EQ(started[2]["idTokenInfo"]["status"], "Accepted");
  json updated = charger->Call(
      "TransactionEvent", StandardTxEvent("Updated", tx, 1, "2026-11-23T16:40:00Z", 9500, 50000));
  ASSERT_EQ(updated[0], 3) << updated.dump();
  EXPECT_FALSE(updated[2].contains("totalCost"));

  json view = WaitForCharger("e2e_tx_01", [&](const json& c) {
    return c["transaction_id"] == tx && c["energy_accumulated"] == 8.5;
  });
  EXPECT_EQ(view["status"], "Charging");
  EXPECT_DOUBLE_EQ(view["current_power"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(view["energy_accumulated"].get<double>(), 8.5);

  json ended_payload = StandardTxEvent("Ended", tx, 2, "2026-11-23T17:10:00Z", 26500);
  json ended = charger->Call("TransactionEvent", ended_payload);
  ASSERT_EQ(ended[0], 3) << ended.dump();
  EXPECT_DOUBLE_EQ(ended[2]["totalCost"].get<double>(), 3825.0);

  // The charger retries the Ended (its CALLRESULT was lost): same answer, nothing billed twice.
  json again = charger->Call("TransactionEvent", ended_payload);
  ASSERT_EQ(again[0], 3);
  EXPECT_DOUBLE_EQ(again[2]["totalCost"].get<double>(), 3825.0);

  auto session = HttpCall(stack_->http_port, "GET", "/sessions/" + tx).Json();
  EXPECT_EQ(session["charger_id"], "e2e_tx_01");
  EXPECT_DOUBLE_EQ(session["energy_consumed"].get<double>(), 25.5);
  EXPECT_EQ(session["cost"], 3825);
  EXPECT_EQ(session["status"], "ended");
  EXPECT_EQ(session["user_id"], "user_123");

  auto stats =
      HttpCall(stack_->http_port, "GET", "/stats/daily?date=2026-11-24&charger_id=e2e_tx_01")
          .Json();
  ASSERT_EQ(stats["stats"].size(), 1u) << stats.dump();
  EXPECT_EQ(stats["stats"][0]["sessions"], 1);
  EXPECT_DOUBLE_EQ(stats["stats"][0]["total_energy"].get<double>(), 25.5);
  EXPECT_EQ(stats["stats"][0]["total_revenue"], 3825);
  EXPECT_EQ(stats["time_zone"], "Asia/Seoul");

  auto conn = Db();
  pqxx::work txn(conn);
  auto row = txn.exec1(
      "SELECT energy_consumed::text, cost::text FROM charger_usage_log WHERE transaction_id = '" +
      tx + "'");
  EXPECT_EQ(row[0].as<std::string>(), "25.500");
  EXPECT_EQ(row[1].as<std::string>(), "3825.00");
  EXPECT_EQ(
      txn.exec1("SELECT count(*) FROM transaction_events WHERE transaction_id = '" + tx + "'")[0]
          .as<int>(),
      3);
  auto daily = txn.exec1(
      "SELECT sessions, total_energy::text, total_revenue::text FROM daily_charger_stats "
      "WHERE charger_id = 'e2e_tx_01' AND date = '2026-11-24'");
  EXPECT_EQ(daily[0].as<int>(), 1);
  EXPECT_EQ(daily[1].as<std::string>(), "25.500");
  EXPECT_EQ(daily[2].as<std::string>(), "3825.00");
}

TEST_F(EndToEnd, SeedDialectTransactionIsBilledFromItsRegister) {
  auto charger = BootedCharger("e2e_seed_01");
  const std::string tx = "seed-tx-0001";
  json started = charger->Call("TransactionEvent",
                               SeedTxEvent("Started", tx, "2026-11-24T01:00:00Z", std::nullopt));
  ASSERT_EQ(started[0], 3) << started.dump();
  EXPECT_EQ(started[2], json::object());  // schema-exact, not the seed sketch's echo
  json updated = charger->Call("TransactionEvent",
                               SeedTxEvent("Updated", tx, "2026-11-24T01:10:00Z", 8500, 95000));
  ASSERT_EQ(updated[0], 3) << updated.dump();
  json view = WaitForCharger("e2e_seed_01", [&](const json& c) {
    return c["transaction_id"] == tx && c["energy_accumulated"] == 8.5;
  });
  EXPECT_EQ(view["status"], "Charging");
  EXPECT_DOUBLE_EQ(view["current_power"].get<double>(), 95.0);
  EXPECT_DOUBLE_EQ(view["energy_accumulated"].get<double>(), 8.5);

  json ended =
      charger->Call("TransactionEvent", SeedTxEvent("Ended", tx, "2026-11-24T01:40:00Z", 25500));
  ASSERT_EQ(ended[0], 3) << ended.dump();
  EXPECT_DOUBLE_EQ(ended[2]["totalCost"].get<double>(), 3825.0);
  auto session = HttpCall(stack_->http_port, "GET", "/sessions/" + tx).Json();
  EXPECT_DOUBLE_EQ(session["energy_consumed"].get<double>(), 25.5);
  EXPECT_EQ(session["cost"], 3825);
  EXPECT_EQ(session["stop_reason"], "Remote");
}

TEST_F(EndToEnd, EndedWithoutStartedIsStoredNotDropped) {
  auto charger = BootedCharger("e2e_orphan_01");
  json ended = charger->Call(
      "TransactionEvent", StandardTxEvent("Ended", "tx-orphan-1", 7, "2026-11-24T02:00:00Z", 5000));
  ASSERT_EQ(ended[0], 3) << ended.dump();
  auto session = HttpCall(stack_->http_port, "GET", "/sessions/tx-orphan-1");
  EXPECT_EQ(session.status, 200);
  EXPECT_EQ(session.Json()["status"], "ended");
}

TEST_F(EndToEnd, NewConnectionReplacesTheOldOne) {
  auto first = BootedCharger("e2e_dup_01");
  WsClient second;
  ASSERT_TRUE(second.Connect(stack_->ocpp_port, "/ocpp/e2e_dup_01"));
  // The old socket is closed by the server...
  EXPECT_FALSE(first->Receive(seconds(5)));
  EXPECT_FALSE(first->is_open());
  // ...and the new one keeps working and stays online (registration survived: no new boot).
  json heartbeat = second.Call("Heartbeat", json::object());
  EXPECT_EQ(heartbeat[0], 3) << heartbeat.dump();
  std::this_thread::sleep_for(milliseconds(500));
  auto view = HttpCall(stack_->http_port, "GET", "/chargers/e2e_dup_01").Json();
  EXPECT_EQ(view["connected"], true);
}

TEST_F(EndToEnd, RestErrorsHaveTheAgreedShape) {
  auto unknown = HttpCall(stack_->http_port, "GET", "/chargers/nobody_here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json()["status"], "error");
  EXPECT_TRUE(unknown.Json()["message"].is_string());

  auto bad_body = HttpCall(stack_->http_port, "POST", "/chargers/e2e_basic_01/start", "{oops");
  EXPECT_EQ(bad_body.status, 400);
  EXPECT_EQ(bad_body.Json()["error"], "bad_request");

  auto bad_power = HttpCall(stack_->http_port, "PATCH", "/chargers/e2e_basic_01/power",
                            R"({"max_power_kw":-3})");
  EXPECT_EQ(bad_power.status, 400);

  // A charger that booted once but is offline now.
  {
    auto charger = BootedCharger("e2e_offline_01");
    charger->Close();
  }
  WaitForCharger("e2e_offline_01", [](const json& c) { return c["connected"] == false; });
  auto offline = HttpCall(stack_->http_port, "POST", "/chargers/e2e_offline_01/start",
                          R"({"id_token":"user_123","evse_id":1,"connector_id":1})");
  EXPECT_EQ(offline.status, 409) << offline.body;
  EXPECT_EQ(offline.Json()["status"], "error");

  auto unknown_start = HttpCall(stack_->http_port, "POST", "/chargers/nobody_here/start",
                                R"({"id_token":"user_123"})");
  EXPECT_EQ(unknown_start.status, 404) << unknown_start.body;

  auto not_found_session = HttpCall(stack_->http_port, "GET", "/sessions/no-such-tx");
  EXPECT_EQ(not_found_session.status, 404);
}

// The seed's flow with the simulator: REST start, charger view, power limit, REST stop.
void RunSimulatorFlow(Stack& stack, const std::string& id, const std::string& dialect) {
  auto sim =
      stack.StartSimulator(id, dialect, {"--meter-interval", "1", "--energy-speedup", "600"});
  ASSERT_TRUE(sim);
  // Wait until the simulator has booted and reported its status.
  json view;
  for (int i = 0; i < 100; ++i) {
    view = HttpCall(stack.http_port, "GET", "/chargers/" + id).Json();
    if (view.is_object() && view["status"] == "Available") break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(view["status"], "Available") << view.dump() << "\n" << sim->ReadLog();

  auto start = HttpCall(stack.http_port, "POST", "/chargers/" + id + "/start",
                        R"({"id_token":"user_123","evse_id":1,"connector_id":1})");
  ASSERT_EQ(start.status, 200) << start.body << "\n" << sim->ReadLog();
  json started = start.Json();
  EXPECT_EQ(started["status"], "success");
  EXPECT_EQ(started["charger_id"], id);
  std::string tx = started["transaction_id"];
  ASSERT_FALSE(tx.empty());

  auto power =
      HttpCall(stack.http_port, "PATCH", "/chargers/" + id + "/power", R"({"max_power_kw":50})");
  ASSERT_EQ(power.status, 200) << power.body;
  EXPECT_EQ(power.Json(), json::parse(R"({"status":"success","current_power":50.0})"));

  // Meter values flow; the limit caps the power the charger reports.
  for (int i = 0; i < 60; ++i) {
    view = HttpCall(stack.http_port, "GET", "/chargers/" + id).Json();
    if (view["energy_accumulated"].get<double>() > 0 &&
        view["current_power"].get<double>() <= 50.0 && view["current_power"].get<double>() > 0) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(view["status"], "Charging") << view.dump();
  EXPECT_EQ(view["transaction_id"], tx);
  EXPECT_EQ(view["connected"], true);
  EXPECT_GT(view["energy_accumulated"].get<double>(), 0.0) << view.dump();
  EXPECT_LE(view["current_power"].get<double>(), 50.0) << view.dump();

  auto stop = HttpCall(stack.http_port, "POST", "/chargers/" + id + "/stop",
                       json{{"transaction_id", tx}}.dump());
  ASSERT_EQ(stop.status, 200) << stop.body << "\n" << sim->ReadLog();
  json stopped = stop.Json();
  EXPECT_EQ(stopped["status"], "success");
  double energy = stopped["energy_consumed"].get<double>();
  EXPECT_GT(energy, 0.0);
  EXPECT_NEAR(stopped["cost"].get<double>(), energy * 150.0, 0.5);

  auto session = HttpCall(stack.http_port, "GET", "/sessions/" + tx).Json();
  EXPECT_EQ(session["status"], "ended");
  EXPECT_DOUBLE_EQ(session["energy_consumed"].get<double>(), energy);
  EXPECT_EQ(sim->Stop(SIGTERM), 0);
}

TEST_F(EndToEnd, SimulatorStandardDialectRemoteStartLimitStop) {
  RunSimulatorFlow(*stack_, "emart_jeju_e2e_std", "standard");
}

TEST_F(EndToEnd, SimulatorSeedDialectRemoteStartLimitStop) {
  RunSimulatorFlow(*stack_, "emart_jeju_e2e_seed", "seed");
}

// An independent charger (ocpp-rpc in strict mode) validates every message in both directions
// against the OCA 2.0.1 schemas while it runs boot, heartbeat, status, a full transaction,
// remote start, a power limit and remote stop.
TEST_F(EndToEnd, SchemaValidatingChargerSeesNoViolationInEitherDirection) {
  // Its Authorize for user_123 must be Accepted: the token store knows the card.
  ASSERT_EQ(HttpCall(stack_->http_port, "PUT", "/tokens/ISO14443/user_123", "{}").status / 100, 2);
  ChildProcess node;
  ASSERT_TRUE(
      node.Start("/usr/bin/env",
                 {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
                  "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp",
                  "http://127.0.0.1:" + std::to_string(stack_->http_port), "node_schema_01"},
                 stack_->log_dir() + "/schema_client.log"));
  int code = node.Stop(0, seconds(90));  // signal 0: just wait for it to finish
  EXPECT_EQ(code, 0) << node.ReadLog();
}

// --- gRPC: reflection lists and describes every service; health answers SERVING. ----------

std::vector<std::string> ReflectionListServices(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  stream->Write(req);
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  std::vector<std::string> names;
  if (stream->Read(&resp)) {
    for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
  }
  stream->WritesDone();
  stream->Finish();
  return names;
}

bool ReflectionDescribes(const std::shared_ptr<grpc::Channel>& channel, const std::string& symbol) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_file_containing_symbol(symbol);
  stream->Write(req);
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  bool ok = stream->Read(&resp) && resp.has_file_descriptor_response() &&
            resp.file_descriptor_response().file_descriptor_proto_size() > 0;
  stream->WritesDone();
  stream->Finish();
  return ok;
}

TEST_F(EndToEnd, GrpcReflectionAndHealthOnEveryService) {
  struct Expect {
    int port;
    std::string service;
  };
  for (const auto& e : {Expect{stack_->control_port, "csms.control.v1.ControlService"},
                        Expect{stack_->billing_port, "csms.billing.v1.BillingService"},
                        Expect{stack_->link_port, "csms.gateway.v1.ChargerLink"}}) {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(e.port),
                                       grpc::InsecureChannelCredentials());
    auto names = ReflectionListServices(channel);
    EXPECT_NE(std::find(names.begin(), names.end(), e.service), names.end()) << e.service;
    EXPECT_NE(std::find(names.begin(), names.end(), "grpc.health.v1.Health"), names.end());
    for (const auto& name : names) {
      EXPECT_TRUE(ReflectionDescribes(channel, name)) << name << " cannot be described";
    }
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(e.service);
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_F(EndToEnd, GrpcControlServiceDrivesTheSimulator) {
  const std::string id = "emart_jeju_e2e_grpc";
  auto sim =
      stack_->StartSimulator(id, "standard", {"--meter-interval", "1", "--energy-speedup", "600"});
  ASSERT_TRUE(sim);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(stack_->control_port),
                                     grpc::InsecureChannelCredentials());
  auto control = control::v1::ControlService::NewStub(channel);
  control::v1::Charger charger;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext ctx;
    control::v1::GetChargerRequest req;
    req.set_charger_id(id);
    if (control->GetCharger(&ctx, req, &charger).ok() && charger.status() == "Available") break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(charger.status(), "Available");
  EXPECT_EQ(charger.vendor(), "ABB");

  grpc::ClientContext start_ctx;
  control::v1::StartTransactionRequest start;
  start.set_charger_id(id);
  start.set_id_token("grpc_user");
  control::v1::StartTransactionResponse started;
  auto status = control->StartTransaction(&start_ctx, start, &started);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(started.transaction_id().empty());
  EXPECT_GT(started.remote_start_id(), 0);

  std::this_thread::sleep_for(seconds(2));
  grpc::ClientContext stop_ctx;
  control::v1::StopTransactionRequest stop;
  stop.set_charger_id(id);
  stop.set_transaction_id(started.transaction_id());
  control::v1::StopTransactionResponse stopped;
  status = control->StopTransaction(&stop_ctx, stop, &stopped);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(stopped.energy_consumed_kwh(), 0);
  // Rounded once to the currency's minor unit: KRW has none.
  EXPECT_EQ(stopped.cost(), std::round(stopped.cost()));
  EXPECT_NEAR(stopped.cost(), stopped.energy_consumed_kwh() * 150, 0.5 + 1e-9);
  EXPECT_EQ(stopped.currency(), "KRW");

  grpc::ClientContext unknown_ctx;
  control::v1::GetChargerRequest unknown;
  unknown.set_charger_id("nobody_here");
  EXPECT_EQ(control->GetCharger(&unknown_ctx, unknown, &charger).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(sim->Stop(SIGTERM), 0);
}

// Backends going away and coming back: chargers keep being served, nothing is acknowledged
// that was not stored, REST says 503, and everything recovers without a gateway restart.
TEST(BackendOutage, GatewayDegradesCleanlyAndRecovers) {
  TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  Stack::Options options;
  options.name = "outage";
  options.database_url = db.url();
  Stack stack(options);
  ASSERT_TRUE(stack.Start()) << stack.Logs();

  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack.ocpp_port, "/ocpp/outage_01"));
  ASSERT_EQ(charger.Call("BootNotification", BootPayload())[2]["status"], "Accepted");

  // Billing down: the event is refused (the charger keeps it and retries), nothing else stops.
  ASSERT_EQ(stack.billing().Stop(SIGTERM), 0);
  json event = StandardTxEvent("Started", "tx-outage-1", 0, "2026-11-24T03:00:00Z", 0);
  json refused = charger.Call("TransactionEvent", event);
  ASSERT_EQ(refused[0], 4) << refused.dump();
  EXPECT_EQ(refused[2], "InternalError");
  EXPECT_EQ(charger.Call("Heartbeat", json::object())[0], 3);
  EXPECT_EQ(charger.Call("StatusNotification", StatusPayload("Occupied"))[0], 3);
  auto sessions = HttpCall(stack.http_port, "GET", "/sessions/tx-outage-1");
  EXPECT_EQ(sessions.status, 503) << sessions.body;
  EXPECT_EQ(sessions.Json()["error"], "unavailable");

  // Billing back: the charger's retry is stored and acknowledged.
  ASSERT_TRUE(stack.StartBilling()) << stack.Logs();
  json stored;
  for (int i = 0; i < 50; ++i) {
    stored = charger.Call("TransactionEvent", event);
    if (stored[0] == 3) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(stored[0], 3) << stored.dump();
  EXPECT_EQ(HttpCall(stack.http_port, "GET", "/sessions/tx-outage-1").status, 200);

  // Control down: REST answers 503, a booting charger is told Pending (not an error), and
  // already accepted chargers keep working.
  ASSERT_EQ(stack.control().Stop(SIGTERM), 0);
  auto view = HttpCall(stack.http_port, "GET", "/chargers/outage_01");
  EXPECT_EQ(view.status, 503) << view.body;
  WsClient newcomer;
  ASSERT_TRUE(newcomer.Connect(stack.ocpp_port, "/ocpp/outage_02"));
  json boot = newcomer.Call("BootNotification", BootPayload());
  ASSERT_EQ(boot[0], 3) << boot.dump();
  EXPECT_EQ(boot[2]["status"], "Pending");
  EXPECT_EQ(charger.Call("Heartbeat", json::object())[0], 3);

  // Control back: the status reported while it was down reached it (reports are retried).
  ASSERT_TRUE(stack.StartControl()) << stack.Logs();
  json back;
  for (int i = 0; i < 50; ++i) {
    auto r = HttpCall(stack.http_port, "GET", "/chargers/outage_01");
    back = r.Json();
    if (r.status == 200 && back["status"] == "Charging") break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(back["transaction_id"], "tx-outage-1") << back.dump();
  EXPECT_EQ(back["status"], "Charging") << back.dump();

  for (const auto& [name, code] : stack.Stop()) EXPECT_EQ(code, 0) << name;
}

}  // namespace
}  // namespace csms::testing
