// Operations end to end: /metrics on every service parses as strict Prometheus text and counts
// the traffic sent, /readyz follows billing, control's gRPC health follows its database, and
// JSON logs parse line by line.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "net_clients.h"
#include "ocpp_payloads.h"
#include "pg_test_db.h"
#include "prom_text.h"
#include "shared_stack_test.h"
#include "stack.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A TCP proxy in front of PostgreSQL that the test can cut and restore, so a service's
// database becomes unreachable without touching the server the other tests share.
class DbProxy {
 public:
  ~DbProxy() { Stop(); }

  bool Start(int port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 64) != 0) {
      close(listen_fd_);
      listen_fd_ = -1;
      return false;
    }
    stopping_ = false;
    acceptor_ = std::thread([this] { AcceptLoop(); });
    return true;
  }

  // Closes the listener and every proxied connection.
  void Stop() {
    if (listen_fd_ < 0) return;
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    listen_fd_ = -1;
    if (acceptor_.joinable()) acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : pumps_) t.join();
    pumps_.clear();
    std::lock_guard lock(mu_);
    for (int fd : open_) close(fd);
    open_.clear();
  }

 private:
  // The real server as the test run's PG* variables describe it (TCP or a Unix socket).
  static int ConnectUpstream() {
    const char* host = getenv("PGHOST");
    const char* port_env = getenv("PGPORT");
    const std::string port = port_env ? port_env : "5432";
    if (host == nullptr || host[0] == '/') {
      const std::string path =
          std::string(host ? host : "/var/run/postgresql") + "/.s.PGSQL." + port;
      int fd = socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return -1;
      }
      return fd;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host, port.c_str(), &hints, &res) != 0) return -1;
    int fd = -1;
    for (addrinfo* r = res; r != nullptr; r = r->ai_next) {
      fd = socket(r->ai_family, r->ai_socktype, 0);
      if (connect(fd, r->ai_addr, r->ai_addrlen) == 0) break;
      close(fd);
      fd = -1;
    }
    freeaddrinfo(res);
    return fd;
  }

  void AcceptLoop() {
    while (!stopping_) {
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      int upstream = ConnectUpstream();
      if (upstream < 0) {
        close(client);
        continue;
      }
      std::lock_guard lock(mu_);
      open_.push_back(client);
      open_.push_back(upstream);
      pumps_.emplace_back([client, upstream] { Pump(client, upstream); });
      pumps_.emplace_back([client, upstream] { Pump(upstream, client); });
    }
  }

  static void Pump(int from, int to) {
    char buf[16384];
    for (;;) {
      ssize_t n = read(from, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, n - off);
        if (w <= 0) {
          shutdown(from, SHUT_RDWR);
          return;
        }
        off += w;
      }
    }
    shutdown(to, SHUT_RDWR);
  }

  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> pumps_;
};

// GET /metrics, parsed strictly; the test fails on any violation of the format.
PromText Scrape(int port) {
  auto r = HttpCall(port, "GET", "/metrics", "", seconds(5));
  EXPECT_EQ(r.status, 200);
  PromText text = ParsePromText(r.body);
  for (const auto& e : text.errors) ADD_FAILURE() << "port " << port << ": " << e;
  return text;
}

grpc::health::v1::HealthCheckResponse::ServingStatus Health(int port, const std::string& service) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(2));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  if (!stub->Check(&ctx, req, &resp).ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  return resp.status();
}

template <typename Pred>
bool WaitUntil(Pred pred, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return pred();
}

class OpsEndToEnd : public SharedStackTest<OpsEndToEnd> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "ops";
    options.env = {{"CSMS_LOG_FORMAT", "json"}};
  }

 protected:
};

TEST_F(OpsEndToEnd, EveryServiceExposesStrictPrometheusTextCountingTheTraffic) {
  // Before any traffic: the action counters this test checks are absent or zero.
  const PromText before = Scrape(stack_->http_port);
  EXPECT_EQ(before.Sum("csms_ocpp_messages_total", {{"action", "TransactionEvent"}}), 0);

  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack_->ocpp_port, "/ocpp/ops_metrics_01"));
  ASSERT_EQ(charger.Call("BootNotification", BootPayload("SN-ops"))[2]["status"], "Accepted");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(charger.Call("Heartbeat", json::object())[0], 3);
  ASSERT_EQ(charger.Call("StatusNotification", StatusPayload("Available"))[0], 3);
  json bad = charger.Call("Heartbeat", json{{"unexpected", true}});
  ASSERT_EQ(bad[0], 4) << bad.dump();
  const std::string bad_code = bad[2];
  json started = charger.Call(
      "TransactionEvent", StandardTxEvent("Started", "ops-tx-1", 0, "2026-11-24T01:00:00Z", 1000));
  ASSERT_EQ(started[0], 3) << started.dump();
  WsClient refused;
  EXPECT_FALSE(refused.Connect(stack_->ocpp_port, "/ocpp/ops_refused", "ocpp1.6"));

  // ---- gateway
  const PromText gw = Scrape(stack_->http_port);
  auto messages = [&](const std::string& action, const std::string& result) {
    return gw.Sum("csms_ocpp_messages_total", {{"action", action}, {"result", result}});
  };
  EXPECT_EQ(gw.types.at("csms_ocpp_messages_total"), "counter");
  EXPECT_GE(messages("BootNotification", "CALLRESULT"), 1);
  EXPECT_GE(messages("Heartbeat", "CALLRESULT"), 3);
  EXPECT_GE(messages("Heartbeat", "CALLERROR"), 1);
  EXPECT_GE(messages("StatusNotification", "CALLRESULT"), 1);
  EXPECT_GE(messages("TransactionEvent", "CALLRESULT"), 1);
  EXPECT_GE(gw.Sum("csms_ocpp_call_errors_total", {{"action", "Heartbeat"}, {"code", bad_code}}),
            1);
  EXPECT_EQ(gw.types.at("csms_ocpp_message_handling_seconds"), "histogram");
  EXPECT_GE(gw.Sum("csms_ocpp_message_handling_seconds_count", {{"action", "Heartbeat"}}), 4);
  EXPECT_GT(gw.Sum("csms_ocpp_message_handling_seconds_sum", {{"action", "TransactionEvent"}}), 0);
  EXPECT_GE(gw.Sum("csms_gateway_connected_chargers"), 1);
  EXPECT_GE(gw.Sum("csms_gateway_connections_refused_total", {{"reason", "bad_subprotocol"}}), 1);
  EXPECT_TRUE(gw.Has("csms_gateway_outbox_depth"));
  EXPECT_GE(
      gw.Sum("grpc_client_handled_total", {{"grpc_service", "csms.control.v1.StationEventService"},
                                           {"grpc_method", "BootNotification"},
                                           {"grpc_code", "OK"}}),
      1);
  // RecordTransactionEvent or its batched form, whichever the backend uses.
  EXPECT_GE(gw.Sum("grpc_client_handling_seconds_count",
                   {{"grpc_service", "csms.billing.v1.BillingService"}}),
            1);
  for (const char* name : {"process_resident_memory_bytes", "process_open_fds", "process_threads",
                           "process_start_time_seconds"}) {
    EXPECT_GT(gw.Sum(name), 0) << name;
  }
  // CPU time comes in clock ticks (10 ms): a gateway this young may not have used one yet.
  EXPECT_TRUE(gw.Has("process_cpu_seconds_total"));
  EXPECT_GE(gw.Sum("process_cpu_seconds_total"), 0);

  // ---- control and billing, on their --metrics-listen ports
  const PromText control = Scrape(stack_->control_metrics_port);
  EXPECT_GE(control.Sum("grpc_server_handled_total",
                        {{"grpc_method", "BootNotification"}, {"grpc_code", "OK"}}),
            1);
  EXPECT_GE(control.Sum("grpc_server_handling_seconds_count",
                        {{"grpc_service", "csms.control.v1.StationEventService"}}),
            1);
  EXPECT_GT(control.Sum("csms_db_transaction_seconds_count", {{"outcome", "ok"}}), 0);
  EXPECT_TRUE(control.Has("csms_db_pool_wait_seconds_count"));
  EXPECT_EQ(control.Sum("csms_dependency_up", {{"dependency", "database"}}), 1);
  EXPECT_GT(control.Sum("process_resident_memory_bytes"), 0);

  const PromText billing = Scrape(stack_->billing_metrics_port);
  EXPECT_GE(billing.Sum("grpc_server_handled_total",
                        {{"grpc_service", "csms.billing.v1.BillingService"}, {"grpc_code", "OK"}}),
            1);
  EXPECT_GT(billing.Sum("csms_db_transaction_seconds_count", {{"outcome", "ok"}}), 0);
  EXPECT_EQ(billing.Sum("csms_dependency_up", {{"dependency", "database"}}), 1);
  EXPECT_GT(billing.Sum("process_open_fds"), 0);

  for (int port : {stack_->control_metrics_port, stack_->billing_metrics_port}) {
    EXPECT_EQ(HttpCall(port, "GET", "/healthz").status, 200) << port;
    EXPECT_EQ(HttpCall(port, "GET", "/readyz").status, 200) << port;
  }
}

TEST_F(OpsEndToEnd, JsonLogLinesParseAndCarryChargerMessageAndAction) {
  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack_->ocpp_port, "/ocpp/ops_logs_01"));
  ASSERT_EQ(charger.Call("BootNotification", BootPayload("SN-logs"))[2]["status"], "Accepted");
  json bad = charger.Call("Heartbeat", json{{"nonsense", 1}});
  ASSERT_EQ(bad[0], 4);
  const std::string bad_id = bad[1];
  charger.Close();
  std::this_thread::sleep_for(milliseconds(300));

  bool saw_call_error = false;
  for (const auto* process : {&stack_->gateway(), &stack_->control(), &stack_->billing()}) {
    std::istringstream lines(process->ReadLog());
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      ++count;
      json j = json::parse(line, nullptr, false);
      ASSERT_TRUE(j.is_object()) << process->log_path() << ": not JSON: " << line;
      for (const char* key : {"time", "level", "component", "message"}) {
        EXPECT_TRUE(j.contains(key) && j[key].is_string()) << key << " missing: " << line;
      }
      if (j.value("charger_id", "") == "ops_logs_01" && j.value("message_id", "") == bad_id &&
          j.value("action", "") == "Heartbeat") {
        saw_call_error = true;
      }
    }
    EXPECT_GT(count, 0) << process->log_path();
  }
  EXPECT_TRUE(saw_call_error) << "no log line for the CALLERROR with charger, message and action";
}

TEST_F(OpsEndToEnd, ReadyzFollowsBilling) {
  auto ready = HttpCall(stack_->http_port, "GET", "/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.Json()["checks"]["billing"], "SERVING") << ready.body;
  EXPECT_EQ(ready.Json()["checks"]["control"], "SERVING") << ready.body;

  ASSERT_EQ(stack_->billing().Stop(SIGTERM), 0);
  HttpResult down;
  EXPECT_TRUE(WaitUntil(
      [&] {
        down = HttpCall(stack_->http_port, "GET", "/readyz");
        return down.status == 503;
      },
      seconds(5)))
      << down.status << " " << down.body;
  json body = down.Json();
  EXPECT_EQ(body["status"], "unavailable") << down.body;
  EXPECT_NE(body["checks"]["billing"], "SERVING") << down.body;
  EXPECT_EQ(body["checks"]["control"], "SERVING") << down.body;
  EXPECT_EQ(HttpCall(stack_->http_port, "GET", "/healthz").status, 200);  // alive all along

  ASSERT_TRUE(stack_->StartBilling()) << stack_->Logs();
  EXPECT_TRUE(WaitUntil([&] { return HttpCall(stack_->http_port, "GET", "/readyz").status == 200; },
                        seconds(15)));
}

TEST_F(OpsEndToEnd, ControlHealthFollowsItsDatabase) {
  using Status = grpc::health::v1::HealthCheckResponse;
  DbProxy proxy;
  const int proxy_port = FreePort();
  ASSERT_TRUE(proxy.Start(proxy_port));
  const int grpc_port = FreePort(), metrics_port = FreePort();
  ChildProcess control;
  ASSERT_TRUE(control.Start(
      CSMS_CONTROL_BIN,
      {"--grpc-listen", "127.0.0.1:" + std::to_string(grpc_port), "--database-url",
       db_->url() + " host=127.0.0.1 port=" + std::to_string(proxy_port), "--metrics-listen",
       "127.0.0.1:" + std::to_string(metrics_port), "--api-auth", "off"},
      stack_->log_dir() + "/control-proxied.log"));
  ASSERT_TRUE(WaitForPort(grpc_port, seconds(20))) << control.ReadLog();
  EXPECT_TRUE(WaitUntil([&] { return Health(grpc_port, "") == Status::SERVING; }, seconds(5)));
  EXPECT_EQ(Health(grpc_port, "csms.control.v1.ControlService"), Status::SERVING);

  proxy.Stop();  // the database is now unreachable for this control
  EXPECT_TRUE(WaitUntil([&] { return Health(grpc_port, "") == Status::NOT_SERVING; }, seconds(8)))
      << control.ReadLog();
  EXPECT_EQ(Health(grpc_port, "csms.control.v1.ControlService"), Status::NOT_SERVING);
  EXPECT_EQ(Health(grpc_port, "csms.control.v1.StationEventService"), Status::NOT_SERVING);
  EXPECT_EQ(HttpCall(metrics_port, "GET", "/readyz").status, 503);
  EXPECT_EQ(Scrape(metrics_port).Sum("csms_dependency_up", {{"dependency", "database"}}), 0);

  ASSERT_TRUE(proxy.Start(proxy_port));
  EXPECT_TRUE(WaitUntil([&] { return Health(grpc_port, "") == Status::SERVING; }, seconds(10)))
      << control.ReadLog();
  EXPECT_EQ(Health(grpc_port, "csms.control.v1.ControlService"), Status::SERVING);
  EXPECT_EQ(HttpCall(metrics_port, "GET", "/readyz").status, 200);
  EXPECT_EQ(control.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace csms::testing
