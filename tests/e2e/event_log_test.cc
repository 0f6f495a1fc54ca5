// Issue #13, event log: what a charger reports reaches its event log through the real gateway and
// control, is read back over REST and gRPC, and is stored once when repeated. The charger is the
// schema-validating Node charger (schema_client.js in serve mode: every message in both
// directions checked against the OCA schemas), made to send each message through its test hook
// (DataTransfer com.csms.sim "send", driven by POST /chargers/{id}/data-transfer). A refused
// login of a provisioned charger shows as the CSMS's own security event with the client address.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "csms/control/v1/control.grpc.pb.h"
#include "net_clients.h"
#include "process.h"
#include "shared_stack_test.h"
#include "wait_until.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class EventLog : public SharedStackTest<EventLog> {
 public:
  static void Configure(Stack::Options& options) { options.name = "event_log"; }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump());
  }

  json Events(const std::string& id, const std::string& query = "") {
    auto r = Rest("GET", "/chargers/" + id + "/events?limit=500" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("events", json::array());
  }

  // The Node charger in serve mode, booted and Available.
  std::unique_ptr<ChildProcess> StartNode(const std::string& id) {
    auto node = std::make_unique<ChildProcess>();
    EXPECT_TRUE(node->Start(
        "/usr/bin/env",
        {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
         "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-", id, "serve"},
        stack_->log_dir() + "/schema-client-" + id + ".log"));
    EXPECT_TRUE(WaitUntil([&] {
      auto r = Rest("GET", "/chargers/" + id);
      return r.status == 200 && r.Json().value("status", "") == "Available";
    })) << node->ReadLog();
    return node;
  }

  // Makes the charger send `action` with `payload` (its test hook).
  void Send(const std::string& id, const std::string& action, const json& payload) {
    auto r = Rest("POST", "/chargers/" + id + "/data-transfer",
                  {{"vendor_id", "com.csms.sim"},
                   {"message_id", "send"},
                   {"data", {{"action", action}, {"payload", payload}}}});
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.Json()["response"]["status"], "Accepted") << r.body;
  }
};

// Every kind of report, as the charger sent it, with the fields that matter lifted out.
TEST_F(EventLog, EveryKindOfReportIsKeptAsReported) {
  const std::string id = "ev_node_01";
  auto node = StartNode(id);
  const json security = {{"type", "TamperDetectionActivated"},
                         {"timestamp", "2026-12-07T08:00:00.000Z"},
                         {"techInfo", "lid opened"}};
  Send(id, "SecurityEventNotification", security);
  json notify = {
      {"generatedAt", "2026-12-07T08:01:00.000Z"}, {"seqNo", 0}, {"eventData", json::array()}};
  for (int i = 0; i < 3; ++i) {
    notify["eventData"].push_back(
        {{"eventId", 100 + i},
         {"timestamp", "2026-12-07T08:01:0" + std::to_string(i) + ".000Z"},
         {"trigger", "Delta"},
         {"actualValue", i == 0 ? "true" : "42"},
         {"eventNotificationType", "HardWiredNotification"},
         {"component", {{"name", "EVSE"}, {"evse", {{"id", 1}}}}},
         {"variable", {{"name", i == 0 ? "Problem" : "Power"}}}});
  }
  Send(id, "NotifyEvent", notify);
  Send(id, "FirmwareStatusNotification", {{"status", "Downloading"}, {"requestId", 7}});
  Send(id, "LogStatusNotification", {{"status", "Uploading"}, {"requestId", 8}});
  const json meter = {{"evseId", 1},
                      {"meterValue",
                       {{{"timestamp", "2026-12-07T08:02:00.000Z"},
                         {"sampledValue",
                          {{{"value", 1234.5},
                            {"context", "Sample.Clock"},
                            {"measurand", "Energy.Active.Import.Register"}}}}}}}};
  Send(id, "MeterValues", meter);
  // Sent again (a charger retrying): stored once.
  Send(id, "SecurityEventNotification", security);

  std::map<std::string, json> by_type;
  ASSERT_TRUE(WaitUntil([&] {
    by_type.clear();
    for (const json& e : Events(id))
      by_type[e["kind"].get<std::string>() + "/" + e["type"].get<std::string>()] = e;
    return by_type.size() >= 7;  // two NotifyEvent items share a type
  })) << Events(id).dump(1);

  const json& tamper = by_type.at("SecurityEventNotification/TamperDetectionActivated");
  EXPECT_EQ(tamper["payload"], security);
  EXPECT_EQ(tamper["occurred_at"], "2026-12-07T08:00:00.000Z");
  EXPECT_FALSE(tamper["received_at"].get<std::string>().empty());
  const json& problem = by_type.at("NotifyEvent/EVSE.Problem");
  EXPECT_EQ(problem["payload"], notify["eventData"][0]);
  EXPECT_EQ(problem["evse_id"], 1);
  EXPECT_EQ(problem["occurred_at"], "2026-12-07T08:01:00.000Z");
  EXPECT_EQ(by_type.at("FirmwareStatusNotification/Downloading")["request_id"], 7);
  EXPECT_EQ(by_type.at("LogStatusNotification/Uploading")["request_id"], 8);
  const json& sample = by_type.at("MeterValues/Sample.Clock");
  EXPECT_EQ(sample["evse_id"], 1);
  EXPECT_EQ(sample["payload"], meter);
  // The StatusNotification of its boot: the status history.
  const json& status = by_type.at("StatusNotification/Available");
  EXPECT_EQ(status["evse_id"], 1);
  EXPECT_EQ(status["connector_id"], 1);

  // Stored once each: 3 NotifyEvent items, 1 each of the rest, 1 status.
  const json all = Events(id);
  std::multiset<std::string> kinds;
  for (const json& e : all) kinds.insert(e["kind"].get<std::string>());
  EXPECT_EQ(kinds.count("SecurityEventNotification"), 1u) << all.dump(1);
  EXPECT_EQ(kinds.count("NotifyEvent"), 3u);
  EXPECT_EQ(kinds.count("StatusNotification"), 1u);
  // Standalone meter values are kept, never billed: no session for this charger.
  auto sessions = Rest("GET", "/sessions?charger_id=" + id);
  if (sessions.status == 200) EXPECT_EQ(sessions.body.find(id), std::string::npos) << sessions.body;

  // Filters, paging and gRPC give the same log.
  EXPECT_EQ(Events(id, "&kind=NotifyEvent").size(), 3u);
  EXPECT_EQ(Events(id, "&kind=FirmwareStatusNotification,LogStatusNotification").size(), 2u);
  EXPECT_EQ(Events(id, "&kind=FirmwareStatusNotification&kind=MeterValues").size(), 2u);
  EXPECT_EQ(Events(id, "&type=TamperDetectionActivated").size(), 1u);
  EXPECT_EQ(Events(id, "&since=2999-01-01T00:00:00Z").size(), 0u);
  auto page = Rest("GET", "/chargers/" + id + "/events?limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  ASSERT_EQ(page.Json()["events"].size(), 2u);
  ASSERT_TRUE(page.Json()["next_cursor"].is_string());
  EXPECT_EQ(page.Json()["events"][0], all[0]) << "newest first";
  auto next = Rest("GET", "/chargers/" + id + "/events?limit=2&cursor=" +
                              page.Json()["next_cursor"].get<std::string>());
  ASSERT_EQ(next.status, 200);
  EXPECT_EQ(next.Json()["events"][0], all[2]);
  EXPECT_EQ(Rest("GET", "/chargers/ev_nobody/events").status, 404);
  EXPECT_EQ(Rest("GET", "/chargers/" + id + "/events?since=yesterday").status, 400);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(stack_->control_port),
                                     grpc::InsecureChannelCredentials());
  auto stub = control::v1::ControlService::NewStub(channel);
  control::v1::ListChargerEventsRequest request;
  request.set_charger_id(id);
  request.add_kinds("NotifyEvent");
  control::v1::ListChargerEventsResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->ListChargerEvents(&context, request, &response).ok());
  EXPECT_EQ(response.events_size(), 3);

  EXPECT_EQ(node->Stop(SIGTERM, seconds(15)), 0) << "a schema violation: " << node->ReadLog();
}

// A provisioned charger that logs in with the wrong password: refused, and the CSMS records it
// in that charger's log with where the attempt came from and never the password tried.
TEST_F(EventLog, ARefusedLoginIsTheCsmsOwnSecurityEvent) {
  const std::string id = "ev_locked_01";
  auto created = Rest("POST", "/chargers",
                      {{"charger_id", id},
                       {"security_profile", 1},
                       {"password", "Right-password-for-ev:2026"},
                       {"approved", true}});
  ASSERT_EQ(created.status, 201) << created.body;
  {
    WsClient ok;
    ASSERT_TRUE(ok.Connect(stack_->ocpp_port, "/ocpp/" + id, "ocpp2.0.1",
                           {{"Authorization", Basic(id, "Right-password-for-ev:2026")}}));
  }
  WsClient thief;
  EXPECT_FALSE(thief.Connect(stack_->ocpp_port, "/ocpp/" + id, "ocpp2.0.1",
                             {{"Authorization", Basic(id, "a-guessed-password-1")}}));
  json events;
  ASSERT_TRUE(WaitUntil([&] {
    events = Events(id, "&kind=CsmsSecurityEvent");
    return !events.empty();
  })) << Events(id).dump(1);
  ASSERT_EQ(events.size(), 1u) << events.dump(1);
  EXPECT_EQ(events[0]["type"], "AuthenticationFailed");
  EXPECT_EQ(events[0]["client_address"].get<std::string>().rfind("127.0.0.1", 0), 0u)
      << events[0].dump();
  EXPECT_EQ(events[0].dump().find("a-guessed-password"), std::string::npos);
}

}  // namespace
}  // namespace csms::testing
