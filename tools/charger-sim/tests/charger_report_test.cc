// GetBaseReport and GetReport (B07, B08): the answer, then the report as NotifyReport parts (one
// generatedAt, seqNo 0..n-1, tbc on all but the last, one part in flight at a time), built from
// the same device model that GetVariables and SetVariables use. Every frame the charger sends,
// each NotifyReport part included, is checked against the OCA schemas by the fixture.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "charger_fixture.h"

namespace csms::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test_support::ChargerTest;
using test_support::ExpectValid;

// The variables of the simulator's own device model (without --extra-variables).
constexpr size_t kModelSize = 23;

json Component(const std::string& name, std::optional<int> evse = std::nullopt,
               std::optional<int> connector = std::nullopt) {
  json component = {{"name", name}};
  if (evse) {
    component["evse"] = {{"id", *evse}};
    if (connector) component["evse"]["connectorId"] = *connector;
  }
  return component;
}

json Wanted(const json& component, const std::optional<std::string>& variable = std::nullopt,
            const std::optional<std::string>& instance = std::nullopt) {
  json wanted = {{"component", component}};
  if (variable) {
    wanted["variable"] = {{"name", *variable}};
    if (instance) wanted["variable"]["instance"] = *instance;
  }
  return wanted;
}

// "Component[/evse[/connector]].Variable[/instance]" of a ReportData item, for comparisons.
std::string Key(const json& item) {
  std::string key = item["component"]["name"].get<std::string>();
  if (item["component"].contains("evse")) {
    key += "/" + std::to_string(item["component"]["evse"]["id"].get<int>());
    if (item["component"]["evse"].contains("connectorId")) {
      key += "/" + std::to_string(item["component"]["evse"]["connectorId"].get<int>());
    }
  }
  key += "." + item["variable"]["name"].get<std::string>();
  if (item["variable"].contains("instance")) {
    key += "/" + item["variable"]["instance"].get<std::string>();
  }
  return key;
}

class ReportTest : public ChargerTest {
 protected:
  static ChargerOptions ReportOptions(int items_per_part, ReportOrder order = ReportOrder::kNormal,
                                      int extra_variables = 0) {
    ChargerOptions options = DefaultOptions();
    options.report_items_per_part = items_per_part;
    options.report_order = order;
    options.extra_variables = extra_variables;
    return options;
  }

  // The answer to GetBaseReport / GetReport; the parts are not taken yet.
  json Request(const std::string& action, const json& payload) {
    json reply = ServerCall(action, payload);
    EXPECT_EQ(reply[0], 3) << reply.dump();
    return reply[2];
  }

  // Every NotifyReport part, in the order sent, each answered only after checking that nothing
  // else went out while it was in flight.
  std::vector<json> TakeParts() {
    std::vector<json> parts;
    while (!NothingSent()) {
      json call = NextCall("NotifyReport");
      EXPECT_TRUE(NothingSent()) << "a second CALL while part " << call[3]["seqNo"]
                                 << " waits for its answer";
      Answer(call, json::object());
      parts.push_back(call[3]);
    }
    return parts;
  }

  // The parts of one report must fit together: same requestId and generatedAt, seqNo 0..n-1
  // (by seqNo), tbc true on all but the last. Returns the items in seqNo order.
  static std::vector<json> Assemble(std::vector<json> parts, int request_id) {
    std::sort(parts.begin(), parts.end(),
              [](const json& a, const json& b) { return a["seqNo"] < b["seqNo"]; });
    std::vector<json> items;
    for (size_t i = 0; i < parts.size(); ++i) {
      const json& part = parts[i];
      EXPECT_EQ(part["requestId"], request_id);
      EXPECT_EQ(part["seqNo"], i);
      EXPECT_EQ(part["generatedAt"], parts[0]["generatedAt"]);
      EXPECT_EQ(part["tbc"], i + 1 < parts.size()) << part.dump();
      EXPECT_TRUE(part.contains("reportData")) << part.dump();
      for (const json& item : part.value("reportData", json::array())) items.push_back(item);
    }
    return items;
  }

  static std::vector<std::string> Keys(const std::vector<json>& items) {
    std::vector<std::string> keys;
    for (const json& item : items) keys.push_back(Key(item));
    return keys;
  }

  static json Find(const std::vector<json>& items, const std::string& key) {
    for (const json& item : items) {
      if (Key(item) == key) return item;
    }
    ADD_FAILURE() << key << " not in the report";
    return json::object();
  }

  // A whole GetBaseReport: Accepted, then its items.
  std::vector<json> BaseReport(const std::string& base, int request_id = 1) {
    EXPECT_EQ(Request("GetBaseReport", {{"requestId", request_id}, {"reportBase", base}}),
              json({{"status", "Accepted"}}));
    return Assemble(TakeParts(), request_id);
  }

  // A whole GetReport: its status, and its items (none after EmptyResultSet).
  std::pair<std::string, std::vector<json>> Report(const json& payload) {
    json answer = Request("GetReport", payload);
    std::vector<json> parts = TakeParts();
    if (answer["status"] != "Accepted") {
      EXPECT_TRUE(parts.empty());
    }
    return {answer["status"], Assemble(parts, payload["requestId"])};
  }
};

TEST_F(ReportTest, FullInventoryInPartsAfterTheAnswer) {
  Make(ReportOptions(5));
  BootAccepted();
  json answer = Request("GetBaseReport", {{"requestId", 41}, {"reportBase", "FullInventory"}});
  EXPECT_EQ(answer, json({{"status", "Accepted"}}));  // the answer went out first (ServerCall)
  std::vector<json> parts = TakeParts();
  ASSERT_EQ(parts.size(), (kModelSize + 4) / 5);
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_EQ(parts[i]["seqNo"], i);  // in order
    EXPECT_EQ(parts[i]["reportData"].size(), i + 1 < parts.size() ? 5u : kModelSize % 5);
    EXPECT_EQ(parts[i]["generatedAt"], "2026-03-01T09:00:00Z");
    ExpectValid("NotifyReport", ocpp::PayloadKind::kRequest, parts[i]);
  }
  EXPECT_EQ(parts.back()["tbc"], false);  // explicit on the last part
  std::vector<json> items = Assemble(parts, 41);
  EXPECT_EQ(items.size(), kModelSize);
  EXPECT_EQ(items.size(), charger_->device_model().size());
}

TEST_F(ReportTest, OnePartWhenEverythingFits) {
  Make(ReportOptions(100));
  BootAccepted();
  EXPECT_EQ(Request("GetBaseReport", {{"requestId", 1}, {"reportBase", "FullInventory"}}),
            json({{"status", "Accepted"}}));
  std::vector<json> parts = TakeParts();
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0]["seqNo"], 0);
  EXPECT_EQ(parts[0]["tbc"], false);
  EXPECT_EQ(parts[0]["reportData"].size(), kModelSize);
}

TEST_F(ReportTest, ItemsCarryAttributesAndCharacteristics) {
  Make();  // 20 items per part by default
  BootAccepted(30);
  std::vector<json> items = BaseReport("FullInventory");
  ASSERT_EQ(items.size(), kModelSize);

  json interval = Find(items, "OCPPCommCtrlr.HeartbeatInterval");
  EXPECT_EQ(interval, json::parse(R"({
    "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
    "variableAttribute": [{"type": "Actual", "value": "30", "mutability": "ReadWrite",
                           "persistent": true, "constant": false}],
    "variableCharacteristics": {"unit": "s", "dataType": "integer", "minLimit": 1.0,
                                "maxLimit": 86400.0, "supportsMonitoring": false}})"));

  // OCPP: a WriteOnly attribute is reported without its value.
  json password = Find(items, "SecurityCtrlr.BasicAuthPassword");
  ASSERT_EQ(password["variableAttribute"].size(), 1u);
  EXPECT_EQ(password["variableAttribute"][0]["mutability"], "WriteOnly");
  EXPECT_FALSE(password["variableAttribute"][0].contains("value")) << password.dump();

  json power = Find(items, "EVSE/1.Power");
  EXPECT_EQ(power["component"], json::parse(R"({"name": "EVSE", "evse": {"id": 1}})"));
  EXPECT_EQ(power["variableCharacteristics"]["maxLimit"], 100000.0);
  EXPECT_EQ(power["variableCharacteristics"]["unit"], "W");
  EXPECT_EQ(power["variableCharacteristics"]["dataType"], "decimal");
  EXPECT_EQ(power["variableAttribute"], json::parse(R"([
    {"type": "Actual", "value": "0", "mutability": "ReadOnly", "persistent": false,
     "constant": false},
    {"type": "MaxSet", "value": "100000", "mutability": "ReadOnly", "persistent": true,
     "constant": true}])"));

  json type = Find(items, "Connector/1/1.ConnectorType");
  EXPECT_EQ(type["component"],
            json::parse(R"({"name": "Connector", "evse": {"id": 1, "connectorId": 1}})"));
  EXPECT_EQ(type["variableAttribute"][0]["value"], "cCCS2");
  EXPECT_EQ(type["variableCharacteristics"]["dataType"], "OptionList");

  EXPECT_EQ(Find(items, "EVSE/1.AvailabilityState")["variableAttribute"][0]["value"], "Available");
  EXPECT_EQ(Find(items, "EVSE/1.AvailabilityState")["variableCharacteristics"]["valuesList"],
            "Available,Occupied,Reserved,Unavailable,Faulted");
  json items_get = Find(items, "DeviceDataCtrlr.ItemsPerMessage/GetVariables");
  EXPECT_EQ(items_get["variable"], json::parse(R"({"name": "ItemsPerMessage",
                                                  "instance": "GetVariables"})"));
  EXPECT_EQ(items_get["variableAttribute"][0]["value"], "4");
  EXPECT_EQ(items_get["variableAttribute"][0]["constant"], true);
  EXPECT_EQ(
      Find(items, "DeviceDataCtrlr.ItemsPerMessage/SetVariables")["variableAttribute"][0]["value"],
      "8");
  EXPECT_EQ(
      Find(items, "DeviceDataCtrlr.BytesPerMessage/GetVariables")["variableAttribute"][0]["value"],
      "8192");
  EXPECT_EQ(Find(items, "SecurityCtrlr.SecurityProfile")["variableAttribute"][0]["value"], "0");
  json rate = Find(items, "SmartChargingCtrlr.RateUnit");
  EXPECT_EQ(rate["variableAttribute"][0]["value"], "A,W");
  EXPECT_EQ(rate["variableCharacteristics"]["dataType"], "MemberList");
  EXPECT_EQ(rate["variableCharacteristics"]["valuesList"], "A,W");
  EXPECT_EQ(Find(items, "OCPPCommCtrlr.MessageTimeout/Default")["variableAttribute"][0]["value"],
            "30");
  EXPECT_EQ(Find(items, "ChargingStation.Model")["variableAttribute"][0]["value"], "Terra 53");
  EXPECT_EQ(Find(items, "AuthCtrlr.AuthorizeRemoteStart")["variableAttribute"][0]["value"],
            "false");
}

TEST_F(ReportTest, ReportsAgreeWithGetVariables) {
  // Every readable value in the report is what GetVariables answers for the same item.
  Make(ReportOptions(7));
  BootAccepted();
  for (const json& item : BaseReport("FullInventory")) {
    for (const json& attribute : item["variableAttribute"]) {
      json get = {{"component", item["component"]},
                  {"variable", item["variable"]},
                  {"attributeType", attribute["type"]}};
      json reply = ServerCall("GetVariables", {{"getVariableData", json::array({get})}});
      ASSERT_EQ(reply[0], 3) << reply.dump();
      const json& result = reply[2]["getVariableResult"][0];
      if (attribute["mutability"] == "WriteOnly") {
        EXPECT_EQ(result["attributeStatus"], "Rejected") << Key(item);
      } else {
        EXPECT_EQ(result["attributeStatus"], "Accepted") << Key(item);
        EXPECT_EQ(result["attributeValue"], attribute["value"]) << Key(item);
      }
    }
  }
}

TEST_F(ReportTest, SetVariablesValueIsInTheNextReport) {
  Make();
  BootAccepted(30);
  json set = {{"setVariableData", json::array({{{"component", {{"name", "OCPPCommCtrlr"}}},
                                                {"variable", {{"name", "HeartbeatInterval"}}},
                                                {"attributeValue", "45"}},
                                               {{"component", {{"name", "AuthCtrlr"}}},
                                                {"variable", {{"name", "AuthorizeRemoteStart"}}},
                                                {"attributeValue", "true"}}})}};
  json reply = ServerCall("SetVariables", set);
  ASSERT_EQ(reply[0], 3);
  EXPECT_EQ(reply[2]["setVariableResult"][0]["attributeStatus"], "Accepted");
  std::vector<json> items = BaseReport("FullInventory", 2);
  EXPECT_EQ(Find(items, "OCPPCommCtrlr.HeartbeatInterval")["variableAttribute"][0]["value"], "45");
  EXPECT_EQ(Find(items, "AuthCtrlr.AuthorizeRemoteStart")["variableAttribute"][0]["value"], "true");
}

TEST_F(ReportTest, ConfigurationInventoryHasTheWritableVariablesOnly) {
  Make();
  BootAccepted(30);
  std::vector<json> items = BaseReport("ConfigurationInventory");
  EXPECT_EQ(Keys(items), (std::vector<std::string>{
                             "OCPPCommCtrlr.HeartbeatInterval",
                             "OCPPCommCtrlr.MessageTimeout/Default",
                             "SecurityCtrlr.BasicAuthPassword",
                             "AuthCtrlr.Enabled",
                             "AuthCtrlr.AuthorizeRemoteStart",
                             "SampledDataCtrlr.TxUpdatedInterval",
                         }));
  for (const json& item : items) {
    for (const json& attribute : item["variableAttribute"]) {
      EXPECT_NE(attribute["mutability"], "ReadOnly") << item.dump();
    }
  }
  EXPECT_FALSE(
      Find(items, "SecurityCtrlr.BasicAuthPassword")["variableAttribute"][0].contains("value"));
}

TEST_F(ReportTest, SummaryInventoryHasTheStateOfEachComponent) {
  Make();
  BootAccepted();
  Answer(StartCharging(), json::object());
  std::vector<json> items = BaseReport("SummaryInventory");
  EXPECT_EQ(Keys(items), (std::vector<std::string>{
                             "ChargingStation.AvailabilityState",
                             "ChargingStation.Available",
                             "EVSE/1.AvailabilityState",
                             "EVSE/1.Available",
                             "Connector/1/1.AvailabilityState",
                             "Connector/1/1.Available",
                             "AuthCtrlr.Enabled",
                             "SmartChargingCtrlr.Enabled",
                         }));
  // Values as they are when the request comes: charging.
  EXPECT_EQ(Find(items, "Connector/1/1.AvailabilityState")["variableAttribute"][0]["value"],
            "Occupied");
}

TEST_F(ReportTest, ReverseOrderSendsTheLastPartFirst) {
  Make(ReportOptions(4, ReportOrder::kReverse));
  BootAccepted();
  EXPECT_EQ(Request("GetBaseReport", {{"requestId", 9}, {"reportBase", "FullInventory"}}),
            json({{"status", "Accepted"}}));
  std::vector<json> parts = TakeParts();
  const size_t n = (kModelSize + 3) / 4;
  ASSERT_EQ(parts.size(), n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(parts[i]["seqNo"], n - 1 - i);
    EXPECT_EQ(parts[i]["tbc"], i != 0);  // tbc stays with its seqNo: false on the last one
  }
  // Put back in seqNo order it is the same report as in the normal order.
  std::vector<json> reversed = Assemble(parts, 9);
  Make(ReportOptions(4));
  BootAccepted();
  EXPECT_EQ(Keys(reversed), Keys(BaseReport("FullInventory", 9)));
}

TEST_F(ReportTest, TenThousandExtraVariables) {
  Make(ReportOptions(250, ReportOrder::kNormal, 10000));
  BootAccepted();
  EXPECT_EQ(charger_->device_model().size(), kModelSize + 10000);
  EXPECT_EQ(Request("GetBaseReport", {{"requestId", 5}, {"reportBase", "FullInventory"}}),
            json({{"status", "Accepted"}}));
  std::vector<json> parts = TakeParts();
  EXPECT_EQ(parts.size(), (kModelSize + 10000 + 249) / 250);
  std::vector<json> items = Assemble(parts, 5);
  ASSERT_EQ(items.size(), kModelSize + 10000);
  EXPECT_EQ(Key(items[kModelSize]), "SimExtra.Var1");
  EXPECT_EQ(items.back(), json::parse(R"({
    "component": {"name": "SimExtra"}, "variable": {"name": "Var10000"},
    "variableAttribute": [{"type": "Actual", "value": "10000", "mutability": "ReadOnly",
                           "persistent": true, "constant": true}],
    "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": false}})"));
  // The same model answers GetVariables.
  json get = {{"component", {{"name", "SimExtra"}}}, {"variable", {{"name", "Var77"}}}};
  json reply = ServerCall("GetVariables", {{"getVariableData", json::array({get})}});
  EXPECT_EQ(reply[2]["getVariableResult"][0]["attributeValue"], "77");
  // Read-only: not in the configuration report.
  EXPECT_EQ(BaseReport("ConfigurationInventory", 6).size(), 6u);
}

TEST_F(ReportTest, GetReportFilters) {
  struct Case {
    std::string name;
    json payload;  // requestId added
    std::string status;
    std::vector<std::string> keys;  // empty: not compared (only the count below)
    size_t count = 0;
  };
  const std::vector<Case> cases = {
      {"one variable",
       {{"componentVariable",
         json::array({Wanted(Component("OCPPCommCtrlr"), "HeartbeatInterval")})}},
       "Accepted",
       {"OCPPCommCtrlr.HeartbeatInterval"}},
      {"names compare case-insensitively",
       {{"componentVariable",
         json::array({Wanted(Component("ocppcommctrlr"), "HEARTBEATINTERVAL")})}},
       "Accepted",
       {"OCPPCommCtrlr.HeartbeatInterval"}},
      {"a component without variable: all of them",
       {{"componentVariable", json::array({Wanted(Component("OCPPCommCtrlr"))})}},
       "Accepted",
       {"OCPPCommCtrlr.HeartbeatInterval", "OCPPCommCtrlr.MessageTimeout/Default"}},
      {"a variable without instance: all instances",
       {{"componentVariable",
         json::array({Wanted(Component("DeviceDataCtrlr"), "ItemsPerMessage")})}},
       "Accepted",
       {"DeviceDataCtrlr.ItemsPerMessage/GetVariables",
        "DeviceDataCtrlr.ItemsPerMessage/SetVariables"}},
      {"a variable instance",
       {{"componentVariable",
         json::array({Wanted(Component("DeviceDataCtrlr"), "ItemsPerMessage", "setvariables")})}},
       "Accepted",
       {"DeviceDataCtrlr.ItemsPerMessage/SetVariables"}},
      {"no evse: every EVSE (B08.FR.23)",
       {{"componentVariable", json::array({Wanted(Component("EVSE"), "Power")})}},
       "Accepted",
       {"EVSE/1.Power"}},
      {"an evse without connectorId: its connectors",
       {{"componentVariable", json::array({Wanted(Component("Connector", 1))})}},
       "Accepted",
       {"Connector/1/1.AvailabilityState", "Connector/1/1.Available",
        "Connector/1/1.ConnectorType"}},
      {"several entries, in the model's order",
       {{"componentVariable",
         json::array({Wanted(Component("SecurityCtrlr")), Wanted(Component("EVSE", 1), "Power")})}},
       "Accepted",
       {"EVSE/1.Power", "SecurityCtrlr.BasicAuthPassword", "SecurityCtrlr.SecurityProfile"}},
      {"an EVSE the station does not have",
       {{"componentVariable", json::array({Wanted(Component("EVSE", 2))})}},
       "EmptyResultSet",
       {}},
      {"an unknown component",
       {{"componentVariable", json::array({Wanted(Component("CoffeeCtrlr"))})}},
       "EmptyResultSet",
       {}},
      {"an unknown variable",
       {{"componentVariable", json::array({Wanted(Component("OCPPCommCtrlr"), "Strength")})}},
       "EmptyResultSet",
       {}},
      {"no component reports a Problem",
       {{"componentCriteria", json::array({"Problem"})}},
       "EmptyResultSet",
       {}},
      {"Available: components without the variable meet it too (B08.FR.07-10)",
       {{"componentCriteria", json::array({"Available"})}},
       "Accepted",
       {},
       kModelSize},
      {"criteria and components together",
       {{"componentCriteria", json::array({"Enabled", "Problem"})},
        {"componentVariable", json::array({Wanted(Component("SmartChargingCtrlr"))})}},
       "Accepted",
       {"SmartChargingCtrlr.Enabled", "SmartChargingCtrlr.RateUnit"}},
      {"neither: everything", json::object(), "Accepted", {}, kModelSize},
  };
  Make(ReportOptions(3));
  BootAccepted();
  int request_id = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json payload = c.payload;
    payload["requestId"] = ++request_id;
    auto [status, items] = Report(payload);
    EXPECT_EQ(status, c.status);
    if (!c.keys.empty()) {
      EXPECT_EQ(Keys(items), c.keys);
    }
    EXPECT_EQ(items.size(), c.keys.empty() ? c.count : c.keys.size());
  }
}

TEST_F(ReportTest, GetReportCriteriaFollowTheValues) {
  Make();
  BootAccepted();
  const json enabled_auth = {{"componentCriteria", json::array({"Enabled"})},
                             {"componentVariable", json::array({Wanted(Component("AuthCtrlr"))})}};
  json payload = enabled_auth;
  payload["requestId"] = 1;
  auto [status, items] = Report(payload);
  EXPECT_EQ(status, "Accepted");
  EXPECT_EQ(Keys(items),
            (std::vector<std::string>{"AuthCtrlr.Enabled", "AuthCtrlr.AuthorizeRemoteStart"}));

  json reply = ServerCall("SetVariables",
                          {{"setVariableData", json::array({{{"component", {{"name", "AuthCtrlr"}}},
                                                             {"variable", {{"name", "Enabled"}}},
                                                             {"attributeValue", "false"}}})}});
  EXPECT_EQ(reply[2]["setVariableResult"][0]["attributeStatus"], "Accepted");
  payload["requestId"] = 2;
  EXPECT_EQ(Report(payload).first, "EmptyResultSet");
}

TEST_F(ReportTest, GetReportNeverShowsAWriteOnlyValue) {
  Make();
  BootAccepted();
  json set = {{"setVariableData", json::array({{{"component", {{"name", "SecurityCtrlr"}}},
                                                {"variable", {{"name", "BasicAuthPassword"}}},
                                                {"attributeValue", "0123456789abcdefXYZ"}}})}};
  ASSERT_EQ(ServerCall("SetVariables", set)[2]["setVariableResult"][0]["attributeStatus"],
            "Accepted");
  charger_->OnDisconnected();  // the transport reconnects with the new password
  charger_->OnConnected();
  Answer(NextCall("StatusNotification"), json::object());
  auto [status, items] =
      Report({{"requestId", 3},
              {"componentVariable",
               json::array({Wanted(Component("SecurityCtrlr"), "BasicAuthPassword")})}});
  EXPECT_EQ(status, "Accepted");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["variableAttribute"],
            json::parse(R"([{"type": "Actual", "mutability": "WriteOnly", "persistent": true,
                             "constant": false}])"));
}

TEST_F(ReportTest, PartsGoOutWhilePending) {
  // B02: the CSMS may ask for the report before it accepts the station.
  Make(ReportOptions(10));
  charger_->OnConnected();
  Answer(NextCall("BootNotification"),
         {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", 300}, {"status", "Pending"}});
  ASSERT_EQ(charger_->boot_state(), BootState::kPending);
  std::vector<json> items = BaseReport("FullInventory", 77);
  EXPECT_EQ(items.size(), kModelSize);
}

TEST_F(ReportTest, OtherMessagesWaitBehindTheParts) {
  // One CALL in flight: a heartbeat that falls due during the report goes out after the part in
  // flight, and the parts queued before it go first.
  Make(ReportOptions(10));
  BootAccepted(20);
  EXPECT_EQ(Request("GetBaseReport", {{"requestId", 1}, {"reportBase", "FullInventory"}}),
            json({{"status", "Accepted"}}));
  json first = NextCall("NotifyReport");
  Advance(20s);  // heartbeat due (the part's call timeout is 30 s)
  EXPECT_TRUE(NothingSent());
  Answer(first, json::object());
  json second = NextCall("NotifyReport");
  EXPECT_EQ(second[3]["seqNo"], 1);
  Answer(second, json::object());
  json third = NextCall("NotifyReport");
  EXPECT_EQ(third[3]["tbc"], false);
  Answer(third, json::object());
  Answer(NextCall("Heartbeat"), {{"currentTime", "2026-03-01T09:00:20Z"}});
  EXPECT_TRUE(NothingSent());
}

TEST_F(ReportTest, AFailedPartDoesNotStopTheReport) {
  Make(ReportOptions(10));
  BootAccepted(3600);
  EXPECT_EQ(Request("GetBaseReport", {{"requestId", 1}, {"reportBase", "FullInventory"}}),
            json({{"status", "Accepted"}}));
  AnswerError(NextCall("NotifyReport"), "InternalError");
  json second = NextCall("NotifyReport");
  EXPECT_EQ(second[3]["seqNo"], 1);
  Answer(second, json::object());
  // No answer at all: the next part after the call timeout.
  json third = NextCall("NotifyReport");
  EXPECT_EQ(third[3]["seqNo"], 2);
  Advance(31s);
  EXPECT_TRUE(NothingSent());  // nothing left of this report
}

TEST_F(ReportTest, AConnectionLossDropsThePartsNotSent) {
  Make(ReportOptions(5));
  BootAccepted();
  EXPECT_EQ(Request("GetBaseReport", {{"requestId", 1}, {"reportBase", "FullInventory"}}),
            json({{"status", "Accepted"}}));
  NextCall("NotifyReport");
  charger_->OnDisconnected();
  charger_->OnConnected();
  Answer(NextCall("StatusNotification"), json::object());
  EXPECT_TRUE(NothingSent());
}

TEST_F(ReportTest, MalformedRequestsGetCallErrors) {
  Make();
  BootAccepted();
  json reply = ServerCall("GetBaseReport", {{"requestId", 1}, {"reportBase", "EverythingPlease"}});
  EXPECT_EQ(reply[0], 4);
  reply = ServerCall("GetBaseReport", {{"reportBase", "FullInventory"}});
  EXPECT_EQ(reply[0], 4);
  EXPECT_EQ(reply[2], "OccurrenceConstraintViolation");
  reply = ServerCall("GetReport", {{"requestId", 1}, {"componentCriteria", json::array({"Hot"})}});
  EXPECT_EQ(reply[0], 4);
  EXPECT_TRUE(NothingSent());
}

}  // namespace
}  // namespace csms::sim
