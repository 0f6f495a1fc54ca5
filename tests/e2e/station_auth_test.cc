// Charger authentication at the WebSocket upgrade (OCPP security profile 1), provisioning over
// REST and the registration gate, on real processes: one stack in open station-auth mode and a
// second gateway stack in required mode on the same database.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net_clients.h"
#include "ocpp_payloads.h"
#include "pg_test_db.h"
#include "stack.h"

namespace csms::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using tcp = boost::asio::ip::tcp;

constexpr const char* kPassword = "Jeju-charger-pass:2026";

struct Upgrade {
  int status = 0;
  std::string www_authenticate;
  std::string retry_after;
};

// One WebSocket upgrade request, exactly as written; the answer's status and headers.
Upgrade TryUpgrade(int port, const std::string& station, const std::string& authorization) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  beast::error_code ec;
  stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return {};
  http::request<http::empty_body> req(http::verb::get, "/ocpp/" + station, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::sec_websocket_version, "13");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_protocol, "ocpp2.0.1");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  http::write(stream, req, ec);
  if (ec) return {};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(false);
  http::read_header(stream, buffer, parser, ec);
  if (ec) return {};
  const auto& res = parser.get();
  return {static_cast<int>(res.result_int()), std::string(res[http::field::www_authenticate]),
          std::string(res[http::field::retry_after])};
}

class StationAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    if (!db_->available()) return;
    Stack::Options open;
    open.name = "station_auth_open";
    open.database_url = db_->url();
    open_ = new Stack(open);  // the test stacks default to --station-auth open
    Stack::Options required = open;
    required.name = "station_auth_required";
    required.gateway_args = {"--station-auth", "required"};
    required_ = new Stack(required);
    started_ = open_->Start() && required_->Start();
  }
  static void TearDownTestSuite() {
    for (Stack* stack : {required_, open_}) {
      if (stack == nullptr) continue;
      for (const auto& [name, code] : stack->Stop()) EXPECT_EQ(code, 0) << name;
      delete stack;
    }
    delete db_;
  }
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(*db_);
    ASSERT_TRUE(started_) << open_->Logs() << required_->Logs();
  }

  static HttpResult Rest(const std::string& method, const std::string& target,
                         const json& body = nullptr) {
    return HttpCall(open_->http_port, method, target, body.is_null() ? "" : body.dump());
  }
  static void Provision(const std::string& id, int profile, bool approved) {
    json body = {{"charger_id", id}, {"security_profile", profile}, {"approved", approved}};
    if (profile == 1) body["password"] = kPassword;
    auto res = Rest("POST", "/chargers", body);
    ASSERT_EQ(res.status, 201) << res.body;
  }

  static TestDatabase* db_;
  static Stack* open_;
  static Stack* required_;
  static bool started_;
};

TestDatabase* StationAuthTest::db_ = nullptr;
Stack* StationAuthTest::open_ = nullptr;
Stack* StationAuthTest::required_ = nullptr;
bool StationAuthTest::started_ = false;

TEST_F(StationAuthTest, RestProvisioningShapesAndErrors) {
  auto created = Rest("POST", "/chargers",
                      {{"charger_id", "sa_rest"},
                       {"security_profile", 1},
                       {"password", kPassword},
                       {"approved", false}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json(), (json{{"charger_id", "sa_rest"},
                                  {"security_profile", 1},
                                  {"approved", false},
                                  {"has_password", true}}));
  EXPECT_EQ(created.body.find(kPassword), std::string::npos);

  auto error_code = [](const HttpResult& r) { return r.Json().value("error", ""); };
  auto dup = Rest("POST", "/chargers", {{"charger_id", "sa_rest"}, {"security_profile", 0}});
  EXPECT_EQ(dup.status, 409) << dup.body;
  EXPECT_EQ(error_code(dup), "conflict");
  EXPECT_EQ(Rest("POST", "/chargers", {{"charger_id", "sa_x"}, {"security_profile", 1}}).status,
            400);  // profile 1 without a password
  auto short_pw = Rest("POST", "/chargers",
                       {{"charger_id", "sa_x"}, {"security_profile", 1}, {"password", "short"}});
  EXPECT_EQ(short_pw.status, 400);
  EXPECT_EQ(short_pw.Json().value("status", ""), "error");
  EXPECT_EQ(Rest("POST", "/chargers", {{"charger_id", "sa_x"}, {"security_profile", 7}}).status,
            400);
  EXPECT_EQ(Rest("POST", "/chargers", {{"charger_id", "sa_x"}, {"colour", "red"}}).status, 400);
  EXPECT_EQ(Rest("POST", "/chargers", {{"security_profile", 0}}).status, 400);
  EXPECT_EQ(HttpCall(open_->http_port, "POST", "/chargers", "{not json").status, 400);
  EXPECT_EQ(Rest("PUT", "/chargers/sa_missing/security", {{"approved", true}}).status, 404);
  EXPECT_EQ(Rest("DELETE", "/chargers/sa_missing").status, 404);
  EXPECT_EQ(Rest("PUT", "/chargers/sa_rest/security", {{"charger_id", "other"}}).status, 400);

  auto updated = Rest("PUT", "/chargers/sa_rest/security", {{"approved", true}});
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.Json()["approved"], true);
  EXPECT_EQ(updated.Json()["security_profile"], 1);
  auto read = Rest("GET", "/chargers/sa_rest/security");
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.Json(), updated.Json());
  EXPECT_EQ(Rest("GET", "/chargers/sa_missing/security").status, 404);
  auto deleted = Rest("DELETE", "/chargers/sa_rest");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(Rest("DELETE", "/chargers/sa_rest").status, 404);
  EXPECT_EQ(Rest("GET", "/chargers/sa_rest/security").status, 404);
}

TEST_F(StationAuthTest, Profile1NeedsTheRightCredentialsBeforeTheUpgrade) {
  Provision("sa_basic", 1, true);
  const int port = open_->ocpp_port;

  // No Authorization: refused even in open mode (no downgrade for a provisioned charger).
  Upgrade none = TryUpgrade(port, "sa_basic", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.www_authenticate.find("Basic realm="), std::string::npos);
  EXPECT_EQ(TryUpgrade(port, "sa_basic", Basic("sa_basic", "Wrong-password-12345")).status, 401);
  // The right password under another station's name is still refused.
  EXPECT_EQ(TryUpgrade(port, "sa_basic", Basic("sa_other", kPassword)).status, 401);
  EXPECT_EQ(TryUpgrade(port, "sa_basic", "Basic !!!notbase64").status, 401);
  EXPECT_EQ(TryUpgrade(port, "sa_basic", "Bearer " + std::string(kPassword)).status, 401);
  EXPECT_EQ(TryUpgrade(port, "sa_basic", "Basic " + std::string(600, 'A')).status, 400);

  EXPECT_EQ(TryUpgrade(port, "sa_basic", Basic("sa_basic", kPassword)).status, 101);
  WsClient charger;
  ASSERT_TRUE(charger.Connect(port, "/ocpp/sa_basic", "ocpp2.0.1",
                              {{"Authorization", Basic("sa_basic", kPassword)}}));
  EXPECT_EQ(charger.Call("BootNotification", BootPayload())[2]["status"], "Accepted");

  // The password never reaches a log line.
  for (const Stack* stack : {open_, required_}) {
    EXPECT_EQ(stack->Logs().find(kPassword), std::string::npos);
  }
  EXPECT_NE(open_->gateway().ReadLog().find("refused sa_basic from 127.0.0.1"), std::string::npos);
}

TEST_F(StationAuthTest, UnknownStationsAdmittedWhenOpenRefusedWhenRequired) {
  EXPECT_NE(open_->gateway().ReadLog().find("--station-auth open: ANYONE"), std::string::npos);
  WsClient open_client;
  ASSERT_TRUE(open_client.Connect(open_->ocpp_port, "/ocpp/sa_unknown"));
  EXPECT_EQ(open_client.Call("BootNotification", BootPayload())[2]["status"], "Accepted");

  EXPECT_EQ(TryUpgrade(required_->ocpp_port, "sa_unknown2", "").status, 404);

  // A provisioned profile 0 charger needs no password even when required.
  Provision("sa_open_profile", 0, true);
  WsClient profile0;
  ASSERT_TRUE(profile0.Connect(required_->ocpp_port, "/ocpp/sa_open_profile"));
  EXPECT_EQ(profile0.Call("BootNotification", BootPayload())[2]["status"], "Accepted");

  Provision("sa_required", 1, true);
  EXPECT_EQ(TryUpgrade(required_->ocpp_port, "sa_required", "").status, 401);
  WsClient charger;
  ASSERT_TRUE(charger.Connect(required_->ocpp_port, "/ocpp/sa_required", "ocpp2.0.1",
                              {{"Authorization", Basic("sa_required", kPassword)}}));
  EXPECT_EQ(charger.Call("BootNotification", BootPayload())[2]["status"], "Accepted");
}

TEST_F(StationAuthTest, UnapprovedChargerIsPendingAndGetsSecurityError) {
  Provision("sa_pending", 1, false);
  WsClient charger;
  ASSERT_TRUE(charger.Connect(open_->ocpp_port, "/ocpp/sa_pending", "ocpp2.0.1",
                              {{"Authorization", Basic("sa_pending", kPassword)}}));
  EXPECT_EQ(charger.Call("BootNotification", BootPayload())[2]["status"], "Pending");
  json refused = charger.Call("StatusNotification", StatusPayload("Available"));
  ASSERT_EQ(refused[0], 4) << refused;
  EXPECT_EQ(refused[2], "SecurityError");
  EXPECT_EQ(charger.Call("Heartbeat", json::object())[2], "SecurityError");

  ASSERT_EQ(Rest("PUT", "/chargers/sa_pending/security", {{"approved", true}}).status, 200);
  EXPECT_EQ(charger.Call("BootNotification", BootPayload())[2]["status"], "Accepted");
  EXPECT_EQ(charger.Call("StatusNotification", StatusPayload("Available"))[0], 3);
}

TEST_F(StationAuthTest, SimulatorConnectsWithItsPassword) {
  Provision("sa_sim", 1, true);
  auto sim = open_->StartSimulator("sa_sim", "standard", {"--password", kPassword});
  ASSERT_TRUE(sim);
  bool connected = false;
  for (int i = 0; i < 100 && !connected; ++i) {
    auto res = Rest("GET", "/chargers/sa_sim");
    connected = res.status == 200 && res.Json().value("connected", false) &&
                res.Json().value("status", "") == "Available";
    if (!connected) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(connected) << open_->Logs();
  // Without its password the same charger is refused and the connected one stays.
  auto without = open_->StartSimulator("sa_sim", "standard", {"--run-seconds", "1"});
  ASSERT_TRUE(without);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  without->Stop(SIGTERM);
  EXPECT_NE(open_->gateway().ReadLog().find("refused sa_sim from 127.0.0.1"), std::string::npos);
  EXPECT_TRUE(Rest("GET", "/chargers/sa_sim").Json().value("connected", false));
}

// True once every thread of `pid` is stopped (state T in /proc/<pid>/task/*/stat).
bool WaitUntilStopped(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    bool all = true;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
      std::ifstream stat(task.path() / "stat");
      std::string line;
      std::getline(stat, line);
      auto close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'T') {
        all = false;
      }
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// OCPP A01 end to end: the operator asks for a new password, the CSMS sends SetVariables
// SecurityCtrlr.BasicAuthPassword, the simulator takes it, saves it and reconnects with it.
TEST_F(StationAuthTest, PasswordRotationReachesTheChargerAndItReconnects) {
  Provision("sa_rotate", 1, true);
  const std::string file = open_->log_dir() + "/sa_rotate.password";
  {
    std::ofstream out(file);
    out << kPassword << "\n";
  }
  auto sim = open_->StartSimulator("sa_rotate", "standard", {"--password-file", file});
  ASSERT_TRUE(sim);
  auto available = [&] {
    auto res = Rest("GET", "/chargers/sa_rotate");
    return res.status == 200 && res.Json().value("connected", false) &&
           res.Json().value("status", "") == "Available";
  };
  bool ok = false;
  for (int i = 0; i < 100 && !(ok = available()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ok) << open_->Logs();

  EXPECT_EQ(Rest("POST", "/chargers/sa_rotate/password", json{{"password", "short"}}).status, 400);
  auto rotated = Rest("POST", "/chargers/sa_rotate/password", json::object());
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(rotated.Json().value("charger_status", ""), "Accepted");
  EXPECT_EQ(rotated.body.find(kPassword), std::string::npos);

  // The simulator saved the new password and came back with it.
  std::string saved;
  for (int i = 0; i < 100; ++i) {
    std::ifstream in(file);
    std::getline(in, saved);
    if (!saved.empty() && saved != kPassword) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(saved, kPassword);
  EXPECT_EQ(saved.size(), 40u);
  EXPECT_EQ(rotated.body.find(saved), std::string::npos) << "the new password is never echoed";
  ok = false;
  for (int i = 0; i < 100 && !(ok = available()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(ok) << open_->Logs();
  EXPECT_EQ(open_->gateway().ReadLog().find(saved), std::string::npos) << "password in a log";
  EXPECT_EQ(open_->control().ReadLog().find(saved), std::string::npos) << "password in a log";
  sim->Stop(SIGTERM);
  // Both passwords open the door during the grace period; a third does not.
  EXPECT_EQ(TryUpgrade(open_->ocpp_port, "sa_rotate", Basic("sa_rotate", saved)).status, 101);
  EXPECT_EQ(TryUpgrade(open_->ocpp_port, "sa_rotate", Basic("sa_rotate", kPassword)).status, 101);
  EXPECT_EQ(
      TryUpgrade(open_->ocpp_port, "sa_rotate", Basic("sa_rotate", "Not-the-password-1")).status,
      401);
}

TEST_F(StationAuthTest, ControlOutageNeverAdmitsAKnownProfile1StationUnchecked) {
  Provision("sa_outage", 1, true);
  // The gateway learns the profile with any answer from control.
  ASSERT_EQ(TryUpgrade(open_->ocpp_port, "sa_outage", Basic("sa_outage", kPassword)).status, 101);
  // A control that is there but does not answer (overloaded, or here: frozen) is no outage:
  // even open mode refuses a station it cannot check, rather than admitting it unchecked.
  ASSERT_EQ(::kill(open_->control().pid(), SIGSTOP), 0);
  // kill() returns before every thread has stopped; an answer in that moment would be real.
  ASSERT_TRUE(WaitUntilStopped(open_->control().pid()));
  EXPECT_EQ(TryUpgrade(open_->ocpp_port, "sa_outage_frozen", "").status, 503);
  ASSERT_EQ(::kill(open_->control().pid(), SIGCONT), 0);
  ASSERT_EQ(open_->control().Stop(SIGTERM), 0);
  Upgrade refused = TryUpgrade(open_->ocpp_port, "sa_outage", "");
  EXPECT_EQ(refused.status, 503);
  EXPECT_FALSE(refused.retry_after.empty());
  EXPECT_EQ(
      TryUpgrade(open_->ocpp_port, "sa_outage", Basic("sa_outage", "Wrong-password-12345")).status,
      503);
  // Open mode: an unknown station still connects while control is down, as before.
  EXPECT_EQ(TryUpgrade(open_->ocpp_port, "sa_outage_unknown", "").status, 101);
  // Required mode refuses what it cannot check.
  ASSERT_EQ(required_->control().Stop(SIGTERM), 0);
  EXPECT_EQ(TryUpgrade(required_->ocpp_port, "sa_outage_unknown", "").status, 503);
  ASSERT_TRUE(required_->StartControl()) << required_->Logs();
  ASSERT_TRUE(open_->StartControl()) << open_->Logs();
  int status = 0;
  for (int i = 0; i < 100 && status != 101; ++i) {
    status = TryUpgrade(open_->ocpp_port, "sa_outage", Basic("sa_outage", kPassword)).status;
    if (status != 101) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 101);
  EXPECT_EQ(TryUpgrade(open_->ocpp_port, "sa_outage", "").status, 401);
  status = 0;  // the required gateway has found its control again too
  for (int i = 0; i < 100 && status != 101; ++i) {
    status =
        TryUpgrade(required_->ocpp_port, "sa_required", Basic("sa_required", kPassword)).status;
    if (status != 101) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 101);
}

// Last: it uses up the failures allowed from 127.0.0.1 on the required gateway.
TEST_F(StationAuthTest, RepeatedFailuresFromOneAddressAreRateLimited) {
  Upgrade last;
  int attempts = 0;
  for (; attempts < 30; ++attempts) {
    last =
        TryUpgrade(required_->ocpp_port, "sa_required", Basic("sa_required", "Not-the-pass-1234"));
    if (last.status != 401) break;
  }
  EXPECT_EQ(last.status, 429);
  EXPECT_FALSE(last.retry_after.empty());
  EXPECT_LE(attempts, 12);
  // Even the right password waits until the bucket refills.
  EXPECT_EQ(TryUpgrade(required_->ocpp_port, "sa_required", Basic("sa_required", kPassword)).status,
            429);
  // Other gateways (other limiters) are unaffected.
  EXPECT_EQ(TryUpgrade(open_->ocpp_port, "sa_required", Basic("sa_required", kPassword)).status,
            101);
}

}  // namespace
}  // namespace csms::testing
