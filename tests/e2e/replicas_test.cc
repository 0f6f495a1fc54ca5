// Two of every service over one PostgreSQL give the same answers as one: commands reach the
// right charger whichever gateway or control replica they enter through, a remote start sees
// the Started that arrived through the other replica, and daily statistics count once.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "csms/control/v1/control.grpc.pb.h"
#include "net_clients.h"
#include "pg_test_db.h"
#include "stack.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

json WaitAvailable(int http_port, const std::string& id) {
  json view;
  for (int i = 0; i < 100; ++i) {
    view = HttpCall(http_port, "GET", "/chargers/" + id).Json();
    if (view.is_object() && view["status"] == "Available" && view["connected"] == true) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return view;
}

TEST(Replicas, TwoOfEachServiceGiveTheSameAnswersAsOne) {
  TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  Stack::Options a_options, b_options;
  a_options.name = "replicas-a";
  b_options.name = "replicas-b";
  a_options.database_url = b_options.database_url = db.url();
  a_options.timezone = b_options.timezone = "Asia/Seoul";
  Stack a(a_options), b(b_options);
  // Both replicas migrate the same database at the same time.
  std::thread start_b([&] { EXPECT_TRUE(b.Start()) << b.Logs(); });
  ASSERT_TRUE(a.Start()) << a.Logs();
  start_b.join();

  const std::vector<std::string> speed = {"--meter-interval", "1", "--energy-speedup", "900"};
  auto on_a = a.StartSimulator("replica_on_a", "standard", speed);
  auto on_b = b.StartSimulator("replica_on_b", "seed", speed);
  ASSERT_EQ(WaitAvailable(a.http_port, "replica_on_a")["status"], "Available");
  // Either gateway's REST API shows either charger (state lives in PostgreSQL).
  ASSERT_EQ(WaitAvailable(a.http_port, "replica_on_b")["status"], "Available");
  ASSERT_EQ(WaitAvailable(b.http_port, "replica_on_a")["status"], "Available");

  // REST on gateway A for the charger held by gateway B: control A sends through B, and the
  // Started arrives through B (reported to control B); control A still sees it.
  auto start =
      HttpCall(a.http_port, "POST", "/chargers/replica_on_b/start", R"({"id_token":"user_123"})");
  ASSERT_EQ(start.status, 200) << start.body << "\n" << on_b->ReadLog();
  const std::string tx_b = start.Json()["transaction_id"];

  // gRPC on control B for the charger held by gateway A.
  auto control_b = control::v1::ControlService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(b.control_port), grpc::InsecureChannelCredentials()));
  control::v1::StartTransactionRequest start_a;
  start_a.set_charger_id("replica_on_a");
  start_a.set_id_token("user_456");
  control::v1::StartTransactionResponse started_a;
  grpc::ClientContext start_ctx;
  auto status = control_b->StartTransaction(&start_ctx, start_a, &started_a);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << on_a->ReadLog();
  const std::string tx_a = started_a.transaction_id();

  std::this_thread::sleep_for(seconds(2));

  // Stop each through the other side again.
  auto stop_b = HttpCall(b.http_port, "POST", "/chargers/replica_on_b/stop",
                         json{{"transaction_id", tx_b}}.dump());
  ASSERT_EQ(stop_b.status, 200) << stop_b.body;
  auto control_a = control::v1::ControlService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(a.control_port), grpc::InsecureChannelCredentials()));
  control::v1::StopTransactionRequest stop_a;
  stop_a.set_charger_id("replica_on_a");
  stop_a.set_transaction_id(tx_a);
  control::v1::StopTransactionResponse stopped_a;
  grpc::ClientContext stop_ctx;
  status = control_a->StopTransaction(&stop_ctx, stop_a, &stopped_a);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Both billing replicas report the same sessions, figures and daily totals.
  const double energy_b = stop_b.Json()["energy_consumed"].get<double>();
  for (int http_port : {a.http_port, b.http_port}) {
    auto session_b = HttpCall(http_port, "GET", "/sessions/" + tx_b).Json();
    EXPECT_DOUBLE_EQ(session_b["energy_consumed"].get<double>(), energy_b);
    auto session_a = HttpCall(http_port, "GET", "/sessions/" + tx_a).Json();
    EXPECT_NEAR(session_a["energy_consumed"].get<double>(), stopped_a.energy_consumed_kwh(), 1e-9);
    EXPECT_NEAR(session_a["cost"].get<double>(), stopped_a.cost(), 1e-9);
  }
  json stats_a = HttpCall(a.http_port, "GET", "/stats/daily").Json();
  json stats_b = HttpCall(b.http_port, "GET", "/stats/daily").Json();
  EXPECT_EQ(stats_a, stats_b);
  int sessions = 0;
  double energy = 0;
  for (const auto& row : stats_a["stats"]) {
    sessions += row["sessions"].get<int>();
    energy += row["total_energy"].get<double>();
  }
  EXPECT_EQ(sessions, 2) << stats_a.dump();
  EXPECT_NEAR(energy, energy_b + stopped_a.energy_consumed_kwh(), 1e-6);

  EXPECT_EQ(on_a->Stop(SIGTERM), 0);
  EXPECT_EQ(on_b->Stop(SIGTERM), 0);
  for (auto* stack : {&a, &b}) {
    for (const auto& [name, code] : stack->Stop()) EXPECT_EQ(code, 0) << name;
  }
}

}  // namespace
}  // namespace csms::testing
