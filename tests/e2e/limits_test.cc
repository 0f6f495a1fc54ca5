// The edge's limits and liveness, and one connection per charger across two gateways.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
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
    // --max-message-bytes is left at its default (1 MiB): the tests below check that limit.
    options.gateway_args = {"--idle-timeout",    "2", "--handshake-timeout", "1",
                            "--max-connections", "4"};
  }

  static constexpr size_t kDefaultMaxMessageBytes = 1024 * 1024;

 protected:
  std::unique_ptr<WsClient> Booted(const std::string& id, int port = 0) {
    auto client = std::make_unique<WsClient>();
    EXPECT_TRUE(client->Connect(port ? port : stack_->ocpp_port, "/ocpp/" + id));
    EXPECT_EQ(client->Call("BootNotification", BootPayload())[2]["status"], "Accepted");
    return client;
  }

  // A DataTransfer CALL of exactly `bytes` bytes (its "data" has no length limit in the schema),
  // which the gateway answers with UnknownVendorId.
  static std::string DataTransferOfSize(const std::string& id, size_t bytes) {
    const std::string head =
        R"([2,")" + id + R"(","DataTransfer",{"vendorId":"com.example","data":")";
    const std::string tail = R"("}])";
    return head + std::string(bytes - head.size() - tail.size(), 'd') + tail;
  }

  // A schema-valid NotifyReport part of at least `bytes` bytes, as a charger sends its device
  // model: many report entries, each within the schema's string limits.
  static std::string NotifyReportOfSize(const std::string& id, size_t bytes) {
    json report = json::array();
    size_t size = 0;
    for (int i = 0; size < bytes; ++i) {
      json entry = {{"component", {{"name", "EVSE"}, {"evse", {{"id", 1 + i % 4}}}}},
                    {"variable", {{"name", "Power"}, {"instance", "i" + std::to_string(i)}}},
                    {"variableAttribute", json::array({{{"type", "Actual"},
                                                        {"value", std::string(100, 'v')},
                                                        {"mutability", "ReadOnly"}}})}};
      size += entry.dump().size() + 1;
      report.push_back(std::move(entry));
    }
    json payload = {{"requestId", 7},
                    {"generatedAt", "2026-11-24T09:00:00Z"},
                    {"tbc", false},
                    {"seqNo", 0},
                    {"reportData", std::move(report)}};
    return json::array({2, id, "NotifyReport", payload}).dump();
  }

  // The gateway's csms_gateway_read_buffer_bytes: what its connections keep reserved for
  // reading between frames. -1 when /metrics does not show it.
  double ReadBufferBytes() {
    std::istringstream text(HttpCall(stack_->http_port, "GET", "/metrics").body);
    const std::string name = "csms_gateway_read_buffer_bytes ";
    for (std::string line; std::getline(text, line);) {
      if (line.rfind(name, 0) == 0) return std::strtod(line.c_str() + name.size(), nullptr);
    }
    return -1;
  }

  // The reply to the CALL `id` that the client sent itself.
  static json ReplyTo(WsClient& client, const std::string& id) {
    for (int i = 0; i < 5; ++i) {
      auto text = client.Receive(seconds(20));
      if (!text) return json();
      json frame = json::parse(*text, nullptr, false);
      if (frame.is_array() && frame.size() >= 3 && frame[1] == id) return frame;
    }
    return json();
  }
};

TEST_F(LimitsTest, FramesUpToTheDefaultLimitOfOneMebibyteAreAnswered) {
  auto client = Booted("limits_large");
  // A 900 KiB NotifyReport part: schema-checked and acknowledged like a small one.
  const std::string report = NotifyReportOfSize("report-1", 900 * 1024);
  ASSERT_GE(report.size(), 900u * 1024);
  ASSERT_LT(report.size(), kDefaultMaxMessageBytes);
  ASSERT_TRUE(client->SendText(report));
  json reply = ReplyTo(*client, "report-1");
  ASSERT_EQ(reply, json::array({3, "report-1", json::object()})) << reply.dump();
  // Exactly at the limit is still accepted.
  ASSERT_TRUE(client->SendText(DataTransferOfSize("at-limit", kDefaultMaxMessageBytes)));
  reply = ReplyTo(*client, "at-limit");
  ASSERT_EQ(reply.size(), 3u) << reply.dump();
  EXPECT_EQ(reply[0], 3);
  EXPECT_EQ(reply[2]["status"], "UnknownVendorId");
  EXPECT_EQ(client->Call("Heartbeat", json::object())[0], 3);
}

// A connection's read buffer grows to a large frame while reading it, and is released once the
// frame is handled: an idle connection keeps no megabyte.
TEST_F(LimitsTest, LargeFrameBufferIsReleasedAfterTheFrame) {
  auto client = Booted("limits_release");
  const double before = ReadBufferBytes();
  ASSERT_GE(before, 0) << "no csms_gateway_read_buffer_bytes in /metrics";
  ASSERT_TRUE(client->SendText(NotifyReportOfSize("report-2", 900 * 1024)));
  json reply = ReplyTo(*client, "report-2");
  ASSERT_EQ(reply, json::array({3, "report-2", json::object()})) << reply.dump();
  const double after = ReadBufferBytes();
  // The gauge is updated before the reply is queued. Small frames may keep a few KiB.
  EXPECT_LE(after, before + 8 * 1024) << "before " << before << ", after " << after;
  // And the connection goes on as before.
  EXPECT_EQ(client->Call("Heartbeat", json::object())[0], 3);
  EXPECT_LE(ReadBufferBytes(), before + 8 * 1024);
}

TEST_F(LimitsTest, OversizeFrameClosesWith1009AndOthersAreUnaffected) {
  auto big = Booted("limits_big");
  auto other = Booted("limits_other");
  // One byte over the default limit.
  ASSERT_TRUE(big->SendText(DataTransferOfSize("x", kDefaultMaxMessageBytes + 1)));
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
