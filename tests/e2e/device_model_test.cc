// Issue #13, device model: a report asked for over REST arrives from the charger in parts and is
// stored and readable; SetVariables through either endpoint updates the stored value; secrets are
// never stored; a 10,000-variable report over 100 parts is stored while another charger keeps
// being served; live=true asks the charger (GetVariables, split by its ItemsPerMessage) and
// stores what it says. Chargers: the schema-validating Node charger (exactly 3 parts, every
// message checked against the OCA schemas) and the C++ simulator (big reports).
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "net_clients.h"
#include "process.h"
#include "shared_stack_test.h"
#include "wait_until.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class DeviceModel : public SharedStackTest<DeviceModel> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "device_model";
    options.device_model_fetch = true;
    options.control_args = {"--device-model-fetch-delay-ms", "100"};
  }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump(),
                    seconds(60));
  }

  bool Available(const std::string& id) {
    auto r = Rest("GET", "/chargers/" + id);
    return r.status == 200 && r.Json().value("status", "") == "Available";
  }

  // Asks for a report and waits until the stored one is Complete; returns the last page's view.
  json Report(const std::string& id, const json& body, milliseconds timeout = seconds(20)) {
    auto asked = Rest("POST", "/chargers/" + id + "/reports", body);
    EXPECT_EQ(asked.status, 200) << asked.body;
    const json response = asked.Json().value("response", json::object());
    EXPECT_EQ(response.value("status", ""), "Accepted") << asked.body;
    const int request_id = response.value("request_id", -1);
    json view;
    EXPECT_TRUE(WaitUntil(
        [&] {
          view = Rest("GET", "/chargers/" + id + "/variables?limit=1").Json();
          const json& last = view["last_report"];
          return last.is_object() && last.value("request_id", -2) == request_id &&
                 last.value("status", "") == "Complete";
        },
        timeout))
        << view.dump();
    return view;
  }

  // The fetch control makes after a new charger's boot, complete.
  json BootFetch(const std::string& id) {
    json last;
    EXPECT_TRUE(WaitUntil(
        [&] {
          last = Rest("GET", "/chargers/" + id + "/variables?limit=1").Json()["last_report"];
          return last.is_object() &&
                 last.value("requested_by", "") == "system:device-model-fetch" &&
                 last.value("status", "") == "Complete";
        },
        seconds(60)))
        << last.dump();
    return last;
  }

  int GetBaseReports(const std::string& id) {
    int n = 0;
    for (const json& c : Rest("GET", "/chargers/" + id + "/commands?limit=500")
                             .Json()
                             .value("commands", json::array())) {
      n += c.value("action", "") == "GetBaseReport";
    }
    return n;
  }

  int Commands(const std::string& id, const std::string& action) {
    int n = 0;
    for (const json& c : Rest("GET", "/chargers/" + id + "/commands?limit=500")
                             .Json()
                             .value("commands", json::array())) {
      n += c.value("action", "") == action;
    }
    return n;
  }

  // The one variable's Actual attribute.
  json Actual(const std::string& id, const std::string& component, const std::string& variable) {
    auto r = Rest("GET", "/chargers/" + id + "/variables?component=" + component +
                             "&variable=" + variable + "&type=Actual");
    EXPECT_EQ(r.status, 200) << r.body;
    const json variables = r.Json().value("variables", json::array());
    if (variables.size() != 1 || variables[0]["attributes"].size() != 1) return nullptr;
    return variables[0]["attributes"][0];
  }
};

TEST_F(DeviceModel, NodeChargerReportInThreePartsThenSetVariablesKeepItCurrent) {
  const std::string id = "dm_node_01";
  ChildProcess node;
  ASSERT_TRUE(node.Start(
      "/usr/bin/env",
      {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
       "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-", id, "serve"},
      stack_->log_dir() + "/schema-client-" + id + ".log"));
  ASSERT_TRUE(WaitUntil([&] { return Available(id); })) << node.ReadLog();
  BootFetch(id);  // its own, after the boot; then the one asked for here

  const json view = Report(id, {{"report_base", "FullInventory"}});
  EXPECT_EQ(view["last_report"]["parts_received"], 3);
  EXPECT_EQ(view["last_report"]["scope"], "FullInventory");
  EXPECT_GE(view["last_report"]["items_received"].get<int>(), 20);
  json heartbeat = Actual(id, "OCPPCommCtrlr", "HeartbeatInterval");
  EXPECT_EQ(heartbeat["value"], "30") << heartbeat.dump();
  EXPECT_EQ(heartbeat["mutability"], "ReadWrite");
  EXPECT_EQ(heartbeat["source"], "NotifyReport");
  json password = Actual(id, "securityctrlr", "basicauthpassword");  // any case
  EXPECT_TRUE(password["value"].is_null()) << password.dump();
  EXPECT_EQ(password["secret"], true);
  auto evse = Rest("GET", "/chargers/" + id + "/variables?component=EVSE&variable=Power&evse_id=1");
  ASSERT_EQ(evse.Json()["variables"].size(), 1u) << evse.body;
  EXPECT_EQ(evse.Json()["variables"][0]["max_limit"], 100000);

  // The typed endpoint and the generic one: what the charger accepted is the stored value.
  auto typed = Rest(
      "POST", "/chargers/" + id + "/set-variables",
      {{"variables",
        {{{"component", "OCPPCommCtrlr"}, {"variable", "HeartbeatInterval"}, {"value", "45"}}}}});
  ASSERT_EQ(typed.status, 200) << typed.body;
  heartbeat = Actual(id, "OCPPCommCtrlr", "HeartbeatInterval");
  EXPECT_EQ(heartbeat["value"], "45");
  EXPECT_EQ(heartbeat["source"], "SetVariables");
  EXPECT_EQ(heartbeat["mutability"], "ReadWrite") << "what the report said stays";
  auto generic = Rest("POST", "/chargers/" + id + "/ocpp/SetVariables",
                      json::parse(R"({"setVariableData":[{"component":{"name":"OCPPCommCtrlr"},
                          "variable":{"name":"HeartbeatInterval"},"attributeValue":"50"}]})"));
  ASSERT_EQ(generic.status, 200) << generic.body;
  EXPECT_EQ(Actual(id, "OCPPCommCtrlr", "HeartbeatInterval")["value"], "50");

  // A custom report, and the next full one reports what was set.
  const json custom = Report(id, {{"component_variables", {{{"component", "OCPPCommCtrlr"}}}}});
  EXPECT_EQ(custom["last_report"]["scope"], "Custom");
  Report(id, {{"report_base", "FullInventory"}});
  heartbeat = Actual(id, "OCPPCommCtrlr", "HeartbeatInterval");
  EXPECT_EQ(heartbeat["value"], "50");
  EXPECT_EQ(heartbeat["source"], "NotifyReport");

  // Refusals before anything is sent.
  EXPECT_EQ(Rest("POST", "/chargers/" + id + "/reports", {{"report_base", "Everything"}}).status,
            400);
  EXPECT_EQ(Rest("POST", "/chargers/" + id + "/reports", json::object()).status, 400);
  EXPECT_EQ(Rest("POST", "/chargers/dm_nobody/reports", {{"report_base", "FullInventory"}}).status,
            404);
  EXPECT_EQ(Rest("GET", "/chargers/dm_nobody/variables").status, 404);
  EXPECT_EQ(Rest("GET", "/chargers/" + id + "/variables?cursor=bogus").status, 400);

  // In the command log like every command.
  auto log = Rest("GET", "/chargers/" + id + "/commands?limit=50");
  EXPECT_NE(log.body.find("\"GetBaseReport\""), std::string::npos) << log.body;
  EXPECT_NE(log.body.find("\"GetReport\""), std::string::npos);

  EXPECT_EQ(node.Stop(SIGTERM, seconds(15)), 0) << "a schema violation: " << node.ReadLog();
}

// live=true: GetVariables through the command path (command log, the operator's key), the
// answer in the stored read's shape with each attribute's status, and stored.
TEST_F(DeviceModel, LiveReadsAskTheChargerAndUpdateTheStoredModel) {
  const std::string id = "dm_node_live";
  ChildProcess node;
  ASSERT_TRUE(node.Start(
      "/usr/bin/env",
      {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
       "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-", id, "serve"},
      stack_->log_dir() + "/schema-client-" + id + ".log"));
  ASSERT_TRUE(WaitUntil([&] { return Available(id); })) << node.ReadLog();
  BootFetch(id);  // the stored model names what looser filters ask for, and ItemsPerMessage
  auto live = [&](const std::string& query) {
    return Rest("GET", "/chargers/" + id + "/variables?" + query + "&live=true");
  };

  // Exact names: that variable, one CALL; characteristics and flags from the stored model.
  int calls = Commands(id, "GetVariables");
  auto exact = live("component=OCPPCommCtrlr&variable=HeartbeatInterval");
  ASSERT_EQ(exact.status, 200) << exact.body;
  json body = exact.Json();
  EXPECT_EQ(body["source"], "live");
  EXPECT_TRUE(body["next_cursor"].is_null());
  EXPECT_TRUE(body["last_report"].is_object());
  ASSERT_EQ(body["variables"].size(), 1u) << body.dump();
  EXPECT_EQ(body["variables"][0]["unit"], "s");
  ASSERT_EQ(body["variables"][0]["attributes"].size(), 1u);
  json attribute = body["variables"][0]["attributes"][0];
  EXPECT_EQ(attribute["attribute_status"], "Accepted");
  EXPECT_EQ(attribute["value"], Actual(id, "OCPPCommCtrlr", "HeartbeatInterval")["value"]);
  EXPECT_TRUE(attribute["value"].is_string());
  EXPECT_EQ(attribute["mutability"], "ReadWrite");
  EXPECT_EQ(attribute["source"], "GetVariables");
  EXPECT_EQ(Commands(id, "GetVariables"), calls + 1);
  auto stored = Rest(
      "GET", "/chargers/" + id + "/variables?component=OCPPCommCtrlr&variable=HeartbeatInterval");
  EXPECT_EQ(stored.Json()["source"], "stored");
  EXPECT_FALSE(stored.Json()["variables"][0]["attributes"][0].contains("attribute_status"));

  // Exact names the charger does not know: its status, no value.
  auto unknown = live("component=OCPPCommCtrlr&variable=NoSuchVariable");
  ASSERT_EQ(unknown.status, 200) << unknown.body;
  attribute = unknown.Json()["variables"][0]["attributes"][0];
  EXPECT_EQ(attribute["attribute_status"], "UnknownVariable") << unknown.body;
  EXPECT_TRUE(attribute["value"].is_null());

  // Looser filters: what the stored model lists. EVSE 1 and its connector are 7 attributes
  // (Power has Actual and MaxSet): 2 CALLs under the charger's ItemsPerMessage of 4, which it
  // enforces (a CALLERROR otherwise).
  calls = Commands(id, "GetVariables");
  auto evse = live("evse_id=1");
  ASSERT_EQ(evse.status, 200) << evse.body;
  int attributes = 0;
  const json evse_view = evse.Json();
  for (const json& v : evse_view["variables"]) {
    EXPECT_EQ(v["evse_id"], 1) << v.dump();
    for (const json& a : v["attributes"]) {
      ++attributes;
      EXPECT_EQ(a["attribute_status"], "Accepted") << v.dump();
      if (v["variable"] == "Power" && a["type"] == "MaxSet") {
        EXPECT_EQ(a["value"], "100000");
      }
    }
  }
  EXPECT_EQ(attributes, 7) << evse.body;
  EXPECT_EQ(Commands(id, "GetVariables"), calls + 2);
  // A component: the password is asked for too, and never shown (the charger refuses anyway).
  auto security = live("component=SecurityCtrlr");
  ASSERT_EQ(security.status, 200) << security.body;
  int seen = 0;
  const json security_view = security.Json();
  for (const json& v : security_view["variables"]) {
    const json& a = v["attributes"][0];
    if (v["variable"] == "BasicAuthPassword") {
      ++seen;
      EXPECT_EQ(a["secret"], true);
      EXPECT_TRUE(a["value"].is_null());
      EXPECT_EQ(a["attribute_status"], "Rejected") << security.body;
    } else if (v["variable"] == "SecurityProfile") {
      ++seen;
      EXPECT_EQ(a["value"], "0");
    }
  }
  EXPECT_EQ(seen, 2) << security.body;

  // A value that changed on the charger without the CSMS seeing it: the live read shows it and
  // the stored model has it from then on.
  EXPECT_EQ(Actual(id, "ChargingStation", "AvailabilityState")["value"], "Available");
  auto inoperative =
      Rest("POST", "/chargers/" + id + "/availability", {{"operational_status", "Inoperative"}});
  ASSERT_EQ(inoperative.status, 200) << inoperative.body;
  EXPECT_EQ(Actual(id, "ChargingStation", "AvailabilityState")["value"], "Available")
      << "ChangeAvailability does not touch the stored model";
  auto changed = live("component=ChargingStation&variable=AvailabilityState");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.Json()["variables"][0]["attributes"][0]["value"], "Unavailable");
  json now_stored = Actual(id, "ChargingStation", "AvailabilityState");
  EXPECT_EQ(now_stored["value"], "Unavailable");
  EXPECT_EQ(now_stored["source"], "GetVariables");
  EXPECT_EQ(now_stored["mutability"], "ReadOnly") << "what the report said stays";

  // Refusals.
  EXPECT_EQ(Rest("GET", "/chargers/" + id + "/variables?live=yes").status, 400);
  EXPECT_EQ(live("cursor=v00").status, 400) << "a live read is not paged";
  EXPECT_EQ(Rest("GET", "/chargers/dm_nobody/variables?live=true").status, 404);

  // Offline: as every command.
  EXPECT_EQ(node.Stop(SIGTERM, seconds(15)), 0) << "a schema violation: " << node.ReadLog();
  ASSERT_TRUE(WaitUntil(
      [&] { return Rest("GET", "/chargers/" + id).Json().value("status", "") == "Offline"; }));
  auto offline = live("component=OCPPCommCtrlr&variable=HeartbeatInterval");
  EXPECT_EQ(offline.status, 409) << offline.body;
  EXPECT_EQ(offline.Json().value("error", ""), "offline") << offline.body;
  EXPECT_EQ(Rest("GET", "/chargers/" + id + "/variables?component=OCPPCommCtrlr").status, 200)
      << "the stored model stays readable";
}

// B07: a new charger's boot fetches its model, once; booting again with the same firmware
// fetches nothing, with a new firmware it fetches again.
TEST_F(DeviceModel, ANewChargersBootFetchesItsModelAndOnlyAChangeFetchesAgain) {
  const std::string id = "dm_sim_boot";
  auto sim = stack_->StartSimulator(id, "standard", {"--firmware-version", "1.0.0"});
  ASSERT_NE(sim, nullptr);
  const json first = BootFetch(id);
  EXPECT_EQ(GetBaseReports(id), 1);
  auto log = Rest("GET", "/chargers/" + id + "/commands?limit=500").Json();
  bool by_system = false;
  for (const json& c : log["commands"]) {
    by_system |= c.value("action", "") == "GetBaseReport" &&
                 c.value("issued_by", "") == "system:device-model-fetch";
  }
  EXPECT_TRUE(by_system) << log.dump();
  EXPECT_EQ(Actual(id, "OCPPCommCtrlr", "HeartbeatInterval")["source"], "NotifyReport");

  // The same charger boots again, same firmware: nothing to fetch.
  sim->Stop(SIGTERM, seconds(10));
  sim = stack_->StartSimulator(id, "standard", {"--firmware-version", "1.0.0"});
  ASSERT_TRUE(WaitUntil([&] { return Available(id); }));
  std::this_thread::sleep_for(milliseconds(2500));  // past the fetch delay and a poll round
  EXPECT_EQ(GetBaseReports(id), 1);

  // New firmware: the model is fetched again.
  sim->Stop(SIGTERM, seconds(10));
  sim = stack_->StartSimulator(id, "standard", {"--firmware-version", "2.0.0"});
  ASSERT_TRUE(WaitUntil([&] { return GetBaseReports(id) == 2; })) << GetBaseReports(id);
  const json second = BootFetch(id);
  EXPECT_NE(second["request_id"], first["request_id"]);
}

// 10,000 variables in 100-variable parts, sent last part first, while another charger keeps
// being served: every variable stored, the report Complete, the other charger answered.
TEST_F(DeviceModel, TenThousandVariablesInAHundredPartsWhileOthersAreServed) {
  const std::string big = "dm_sim_big", other = "dm_sim_other";
  auto big_sim = stack_->StartSimulator(big, "standard",
                                        {"--extra-variables", "10000", "--report-items-per-part",
                                         "100", "--report-order", "reverse"});
  auto other_sim = stack_->StartSimulator(other, "standard", {});
  ASSERT_NE(big_sim, nullptr);
  ASSERT_NE(other_sim, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return Available(big) && Available(other); }));
  // Its boot fetched the model first (B07), all 10,000 and more.
  EXPECT_GE(BootFetch(big)["items_received"].get<int>(), 10000);

  auto asked = Rest("POST", "/chargers/" + big + "/reports", {{"report_base", "FullInventory"}});
  ASSERT_EQ(asked.status, 200) << asked.body;
  const int request_id = asked.Json()["response"]["request_id"];
  // While it is stored, the other charger answers commands (counted, not timed).
  int answered = 0;
  json last;
  const bool complete = WaitUntil(
      [&] {
        auto echo =
            Rest("POST", "/chargers/" + other + "/trigger", {{"requested_message", "Heartbeat"}});
        if (echo.status == 200) ++answered;
        last = Rest("GET", "/chargers/" + big + "/variables?limit=1").Json()["last_report"];
        return last.is_object() && last.value("request_id", -1) == request_id &&
               last.value("status", "") == "Complete";
      },
      seconds(120));
  ASSERT_TRUE(complete) << last.dump();
  EXPECT_GE(last["items_received"].get<int>(), 10000);
  EXPECT_GE(last["parts_received"].get<int>(), 100);
  EXPECT_GT(answered, 0);
  auto extra = Rest("GET", "/chargers/" + big + "/variables?component=SimExtra&limit=1000");
  ASSERT_EQ(extra.status, 200);
  EXPECT_EQ(extra.Json()["variables"].size(), 1000u);
  EXPECT_TRUE(extra.Json()["next_cursor"].is_string()) << "10,000 of them: more pages";
  EXPECT_EQ(Actual(big, "SimExtra", "Var10000")["value"], "10000");
  // Live, that is more than one read asks for.
  auto live = Rest("GET", "/chargers/" + big + "/variables?component=SimExtra&live=true");
  EXPECT_EQ(live.status, 400) << live.body;
  EXPECT_NE(live.body.find("narrow"), std::string::npos) << live.body;
  auto one =
      Rest("GET", "/chargers/" + big + "/variables?component=SimExtra&variable=Var10000&live=true");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Json()["variables"][0]["attributes"][0]["value"], "10000") << one.body;
}

}  // namespace
}  // namespace csms::testing
