// The edge's limits and liveness, and one connection per charger across two gateways.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

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

class LimitsTest : public SharedStackTest<LimitsTest> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "limits";
    options.gateway_args = {"--idle-timeout",    "2", "--handshake-timeout", "1",
                            "--max-connections", "4", "--max-message-bytes", "4096"};
  }

 protected:
  std::unique_ptr<WsClient> Booted(const std::string& id, int port = 0) {
    auto client = std::make_unique<WsClient>();
    EXPECT_TRUE(client->Connect(port ? port : stack_->ocpp_port, "/ocpp/" + id));
    EXPECT_EQ(client->Call("BootNotification", BootPayload())[2]["status"], "Accepted");
    return client;
  }
};

TEST_F(LimitsTest, OversizeFrameClosesWith1009AndOthersAreUnaffected) {
  auto big = Booted("limits_big");
  auto other = Booted("limits_other");
  ASSERT_TRUE(
      big->SendText(R"([2,"x","DataTransfer",{"vendorId":")" + std::string(5000, 'a') + R"("}])"));
  EXPECT_FALSE(big->Receive(seconds(3)));
  ASSERT_TRUE(big->close_code().has_value());
  EXPECT_EQ(*big->close_code(), 1009);
  EXPECT_EQ(other->Call("Heartbeat", json::object())[0], 3);
}

TEST_F(LimitsTest, SilentPeerIsDetectedAndShownOffline) {
  auto silent = Booted("limits_silent");
  // It stops reading: pings go unanswered, and after the idle timeout the gateway drops it.
  std::this_thread::sleep_for(seconds(4));
  json view;
  for (int i = 0; i < 30; ++i) {
    view = HttpCall(stack_->http_port, "GET", "/chargers/limits_silent").Json();
    if (view["connected"] == false) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(view["connected"], false) << view.dump();
  EXPECT_EQ(view["status"], "Offline");
}

TEST_F(LimitsTest, HandshakeThatNeverComesIsCutOff) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(stack_->ocpp_port));
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto start = std::chrono::steady_clock::now();
  char buf[16];
  ssize_t n = recv(fd, buf, sizeof buf, 0);  // the server closes: EOF, not a timeout
  auto waited = std::chrono::steady_clock::now() - start;
  close(fd);
  EXPECT_EQ(n, 0);
  EXPECT_LT(waited, seconds(4));
}

TEST_F(LimitsTest, ConnectionCapRefusesWith503) {
  std::vector<std::unique_ptr<WsClient>> held;
  int refused_status = 0;
  for (int i = 0; i < 6 && refused_status == 0; ++i) {
    auto client = std::make_unique<WsClient>();
    if (client->Connect(stack_->ocpp_port, "/ocpp/limits_cap_" + std::to_string(i))) {
      held.push_back(std::move(client));
    } else {
      refused_status = client->http_status();
    }
  }
  EXPECT_EQ(refused_status, 503);
  EXPECT_LE(held.size(), 4u);
  held.clear();
  std::this_thread::sleep_for(milliseconds(300));
  WsClient after;
  EXPECT_TRUE(after.Connect(stack_->ocpp_port, "/ocpp/limits_cap_after"));
}

// A charger that reconnects through another gateway is closed on the first one (control asks
// it), and commands made through either gateway reach it where it is now.
TEST_F(LimitsTest, ChargerMovingToAnotherGatewayIsReachableThereAtOnce) {
  ChildProcess second;
  const int ocpp2 = FreePort(), http2 = FreePort(), link2 = FreePort();
  ASSERT_TRUE(second.Start(
      CSMS_GATEWAY_BIN,
      {"--ocpp-listen", "127.0.0.1:" + std::to_string(ocpp2), "--http-listen",
       "127.0.0.1:" + std::to_string(http2), "--grpc-listen", "127.0.0.1:" + std::to_string(link2),
       "--control-address", "127.0.0.1:" + std::to_string(stack_->control_port),
       "--billing-address", "127.0.0.1:" + std::to_string(stack_->billing_port), "--api-auth",
       "off", "--station-auth", "open"},
      stack_->log_dir() + "/gateway2.log"));
  ASSERT_TRUE(WaitForPort(ocpp2, seconds(10)));
  ASSERT_TRUE(WaitForPort(http2, seconds(5)));

  auto on_first = Booted("limits_mover");
  // The same charger now connects through the second gateway (the simulator answers commands).
  auto sim = std::make_unique<ChildProcess>();
  ASSERT_TRUE(sim->Start(CSMS_SIM_BIN,
                         {"--url", "ws://127.0.0.1:" + std::to_string(ocpp2) + "/ocpp", "--id",
                          "limits_mover", "--meter-interval", "1"},
                         stack_->log_dir() + "/sim-mover.log"));
  EXPECT_FALSE(on_first->Receive(seconds(5)));  // closed by the first gateway
  EXPECT_FALSE(on_first->is_open());

  json view;
  for (int i = 0; i < 50; ++i) {
    view = HttpCall(stack_->http_port, "GET", "/chargers/limits_mover").Json();
    if (view["status"] == "Available" && view["connected"] == true) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(view["connected"], true) << view.dump();
  // Through the FIRST gateway's REST API: control routes the command to the second one.
  auto start = HttpCall(stack_->http_port, "POST", "/chargers/limits_mover/start",
                        R"({"id_token":"user_123"})");
  ASSERT_EQ(start.status, 200) << start.body << "\n" << sim->ReadLog();
  auto stop = HttpCall(http2, "POST", "/chargers/limits_mover/stop",
                       json{{"transaction_id", start.Json()["transaction_id"]}}.dump());
  EXPECT_EQ(stop.status, 200) << stop.body;
  EXPECT_EQ(sim->Stop(SIGTERM), 0);
  EXPECT_EQ(second.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace csms::testing
