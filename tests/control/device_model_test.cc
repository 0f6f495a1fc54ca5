// The device model against a real PostgreSQL: NotifyReport parts applied once each and in any
// order, a complete FullInventory replacing the model and other reports merging, secrets never
// stored, answers to SetVariables / GetVariables keeping it current, and reading it back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "csms/control/device_model_store.h"
#include "csms/control/migrations.h"
#include "csms/ocpp/model_support.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;
using nlohmann::json;
namespace v201 = ocpp::v201;

// A report item: component[/instance][@evse[:connector]].variable = value (Actual).
json Item(const std::string& component, const std::string& variable, const char* value,
          const char* mutability = "ReadWrite", std::optional<int> evse = std::nullopt) {
  json item = {
      {"component", {{"name", component}}},
      {"variable", {{"name", variable}}},
      {"variableAttribute", json::array({{{"mutability", mutability}}})},
      {"variableCharacteristics", {{"dataType", "string"}, {"supportsMonitoring", false}}}};
  if (value != nullptr) item["variableAttribute"][0]["value"] = value;
  if (evse) item["component"]["evse"] = {{"id", *evse}};
  return item;
}

v201::NotifyReportRequest Part(int request_id, int seq_no, bool tbc, json items) {
  json p = {{"requestId", request_id},
            {"generatedAt", "2026-12-07T08:00:00Z"},
            {"seqNo", seq_no},
            {"tbc", tbc}};
  if (!items.empty()) p["reportData"] = std::move(items);
  return ocpp::Decode<v201::NotifyReportRequest>(p);
}

class DeviceModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 2);
    store_ = std::make_unique<DeviceModelStore>(*pool_);
  }

  // component.variable -> Actual value ("<null>" when none), the whole model.
  std::map<std::string, std::string> Model(const std::string& charger = "cp1") {
    std::map<std::string, std::string> out;
    for (const auto& v : store_->List({charger}, 1000, "").variables) {
      std::string value = "<no attribute>";
      for (const auto& a : v.attributes()) {
        if (a.type() == "Actual") value = a.has_value() ? a.value() : "<null>";
      }
      out[v.component() + "." + v.variable()] = value;
    }
    return out;
  }

  std::string Status(int request_id) {
    pqxx::connection conn(db_.url());
    pqxx::read_transaction txn(conn);
    return txn
        .exec_params1("SELECT status FROM device_model_reports WHERE request_id = $1",
                      request_id)[0]
        .c_str();
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<DeviceModelStore> store_;
};

TEST_F(DeviceModelTest, PartsInAnyOrderOnceEachThenCompleteAndTheFullInventoryReplaces) {
  const TimePoint now = RealClock().Now();
  // What the charger had before: one variable it no longer has.
  store_->CreateReport("cp1", 1000, "FullInventory", "op");
  ASSERT_TRUE(
      store_->ApplyPart("cp1", Part(1000, 0, false, {Item("Old", "Gone", "1")}), now).complete);

  const int id = store_->NewRequestId();
  store_->CreateReport("cp1", id, "FullInventory", "op");
  EXPECT_EQ(Status(id), "Requested");
  const auto p0 = Part(id, 0, true, {Item("OCPPCommCtrlr", "HeartbeatInterval", "30")});
  const auto p1 = Part(id, 1, true,
                       {Item("SecurityCtrlr", "BasicAuthPassword", nullptr, "WriteOnly"),
                        Item("EVSE", "Power", "0", "ReadOnly", 1)});
  const auto p2 = Part(id, 2, false, {Item("SecurityCtrlr", "SecurityProfile", "1")});
  PartOutcome last = store_->ApplyPart("cp1", p2, now);  // the last one first
  EXPECT_TRUE(last.stored);
  EXPECT_FALSE(last.complete);
  EXPECT_EQ(Status(id), "Receiving");
  store_->SetReportStatus("cp1", id, "Accepted");  // the answer, processed after a part
  EXPECT_EQ(Status(id), "Receiving") << "a report receiving parts keeps that status";
  EXPECT_TRUE(store_->ApplyPart("cp1", p0, now).stored);
  EXPECT_FALSE(store_->ApplyPart("cp1", p0, now).stored) << "sent again: applied once";
  EXPECT_EQ(Model().count("Old.Gone"), 1u) << "an incomplete report deletes nothing";
  PartOutcome done = store_->ApplyPart("cp1", p1, now);
  EXPECT_TRUE(done.complete);
  EXPECT_EQ(done.swept, 1);
  EXPECT_EQ(Status(id), "Complete");
  EXPECT_EQ(Model(),
            (std::map<std::string, std::string>{{"EVSE.Power", "0"},
                                                {"OCPPCommCtrlr.HeartbeatInterval", "30"},
                                                {"SecurityCtrlr.BasicAuthPassword", "<null>"},
                                                {"SecurityCtrlr.SecurityProfile", "1"}}));
  auto report = store_->LastReport("cp1");
  ASSERT_TRUE(report);
  EXPECT_EQ(report->request_id(), id);
  EXPECT_EQ(report->parts_received(), 3);
  EXPECT_EQ(report->items_received(), 4);
  EXPECT_TRUE(report->has_completed_at());
  EXPECT_FALSE(store_->ApplyPart("cp1", p2, now).stored) << "a late duplicate changes nothing";
}

TEST_F(DeviceModelTest, AnIdTheChargerUsedUnaskedStartsAfreshWhenTheCsmsAsks) {
  const TimePoint now = RealClock().Now();
  store_->ApplyPart("cp1", Part(5, 0, false, {Item("A", "x", "1")}), now);  // unasked
  EXPECT_EQ(Status(5), "Complete");
  store_->CreateReport("cp1", 5, "FullInventory", "op");
  EXPECT_EQ(Status(5), "Requested");
  PartOutcome first = store_->ApplyPart("cp1", Part(5, 0, true, {Item("A", "x", "2")}), now);
  EXPECT_TRUE(first.stored) << "not mistaken for the old report's part 0";
  EXPECT_TRUE(store_->ApplyPart("cp1", Part(5, 1, false, {}), now).complete);
  EXPECT_EQ(Model()["A.x"], "2");
}

TEST_F(DeviceModelTest, OtherReportsMergeAndUnaskedOnesAreKept) {
  const TimePoint now = RealClock().Now();
  store_->ApplyPart("cp1", Part(50, 0, false, {Item("A", "x", "1"), Item("B", "y", "2")}), now);
  EXPECT_EQ(Status(50), "Complete");  // nobody asked: Unsolicited, stored all the same
  store_->CreateReport("cp1", 51, "ConfigurationInventory", "op");
  auto outcome = store_->ApplyPart("cp1", Part(51, 0, false, {Item("A", "x", "9")}), now);
  EXPECT_TRUE(outcome.complete);
  EXPECT_EQ(outcome.swept, 0);
  EXPECT_EQ(Model(), (std::map<std::string, std::string>{{"A.x", "9"}, {"B.y", "2"}}));
  // An empty part is a part.
  store_->CreateReport("cp1", 52, "SummaryInventory", "op");
  EXPECT_TRUE(store_->ApplyPart("cp1", Part(52, 0, false, json::array()), now).complete);
}

TEST_F(DeviceModelTest, NoSecretIsEverStored) {
  const TimePoint now = RealClock().Now();
  json leaky = Item("SecurityCtrlr", "BasicAuthPassword", "reported-password-1");
  json write_only = Item("VendorCtrlr", "ApiToken", "reported-token-2", "WriteOnly");
  store_->ApplyPart("cp1", Part(7, 0, false, {leaky, write_only}), now);
  store_->ApplyAttributes(
      "cp1",
      {{{"SecurityCtrlr", "", {}, {}, "BasicAuthPassword", ""}, "Actual", "set-password-3"},
       {{"VendorCtrlr", "", {}, {}, "ApiToken", ""}, "Actual", "token-4"}},
      "SetVariables", now);
  pqxx::connection conn(db_.url());
  pqxx::read_transaction txn(conn);
  const auto dump =
      txn.exec1(
             "SELECT string_agg(t::text, '') FROM (SELECT * FROM device_variable_attributes) t")[0]
          .as<std::string>();
  for (const char* secret :
       {"reported-password-1", "reported-token-2", "set-password-3", "token-4"}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << secret;
  }
  EXPECT_EQ(Model(),
            (std::map<std::string, std::string>{{"SecurityCtrlr.BasicAuthPassword", "<null>"},
                                                {"VendorCtrlr.ApiToken", "<null>"}}));
}

TEST_F(DeviceModelTest, AnswersKeepTheModelCurrentAndKeepWhatTheReportSaid) {
  const TimePoint now = RealClock().Now();
  store_->ApplyPart("cp1", Part(8, 0, false, {Item("OCPPCommCtrlr", "HeartbeatInterval", "30")}),
                    now);
  // Names compare case-insensitively.
  store_->ApplyAttributes("cp1",
                          {{{"ocppcommctrlr", "", {}, {}, "heartbeatinterval", ""}, "Actual", "60"},
                           {{"TxCtrlr", "", {}, {}, "EVConnectionTimeOut", ""}, "Actual", "90"}},
                          "SetVariables", now);
  auto page = store_->List({"cp1", "OCPPCommCtrlr"}, 10, "");
  ASSERT_EQ(page.variables.size(), 1u);
  ASSERT_EQ(page.variables[0].attributes_size(), 1);
  const auto& a = page.variables[0].attributes(0);
  EXPECT_EQ(a.value(), "60");
  EXPECT_EQ(a.source(), "SetVariables");
  EXPECT_EQ(a.mutability(), "ReadWrite") << "what the report said stays";
  EXPECT_EQ(page.variables[0].data_type(), "string");
  EXPECT_EQ(Model()["TxCtrlr.EVConnectionTimeOut"], "90") << "a variable no report named yet";
}

TEST_F(DeviceModelTest, ListFiltersAndPages) {
  const TimePoint now = RealClock().Now();
  json items = json::array();
  for (int i = 0; i < 5; ++i) items.push_back(Item("SimExtra", "Var" + std::to_string(i), "x"));
  items.push_back(Item("EVSE", "Power", "0", "ReadOnly", 1));
  items.push_back(Item("EVSE", "Power", "0", "ReadOnly", 2));
  store_->ApplyPart("cp1", Part(9, 0, false, items), now);
  EXPECT_EQ(store_->List({"cp1", "evse"}, 10, "").variables.size(), 2u);
  VariableFilter on_evse2{"cp1", "EVSE"};
  on_evse2.evse_id = 2;
  ASSERT_EQ(store_->List(on_evse2, 10, "").variables.size(), 1u);
  EXPECT_EQ(store_->List(on_evse2, 10, "").variables[0].evse_id(), 2);
  VariableFilter search{"cp1"};
  search.search = "VAR3";
  EXPECT_EQ(store_->List(search, 10, "").variables.size(), 1u);
  VariableFilter target{"cp1"};
  target.attribute_type = "Target";
  EXPECT_EQ(store_->List(target, 10, "").variables.at(0).attributes_size(), 0);

  std::vector<std::string> seen;
  std::string cursor;
  do {
    auto page = store_->List({"cp1"}, 3, cursor);
    for (const auto& v : page.variables) seen.push_back(v.component() + "." + v.variable());
    cursor = page.next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_THROW(store_->List({"cp1"}, 3, "vzz"), std::invalid_argument);
  EXPECT_THROW(store_->List({"cp1"}, 3, "e12"), std::invalid_argument);
}

struct ConfirmedCase {
  const char* name;
  const char* action;
  const char* request;
  const char* result;
  std::vector<std::string> expected;  // component.variable/type=value
};

TEST(ConfirmedAttributes, OnlyAcceptedMatchedByNameNotPosition) {
  const ConfirmedCase cases[] = {
      {"set: accepted items in any order, rejected ones not",
       "SetVariables",
       R"({"setVariableData":[
           {"component":{"name":"A"},"variable":{"name":"x"},"attributeValue":"1"},
           {"component":{"name":"B"},"variable":{"name":"y"},"attributeValue":"2",
            "attributeType":"Target"}]})",
       R"({"setVariableResult":[
           {"component":{"name":"B"},"variable":{"name":"y"},"attributeType":"Target",
            "attributeStatus":"Accepted"},
           {"component":{"name":"A"},"variable":{"name":"x"},"attributeStatus":"Rejected"}]})",
       {"B.y/Target=2"}},
      {"set: an answer for something not asked is ignored",
       "SetVariables",
       R"({"setVariableData":[{"component":{"name":"A"},"variable":{"name":"x"},
           "attributeValue":"1"}]})",
       R"({"setVariableResult":[{"component":{"name":"Z"},"variable":{"name":"x"},
           "attributeStatus":"Accepted"}]})",
       {}},
      {"get: accepted values",
       "GetVariables",
       R"({"getVariableData":[{"component":{"name":"A"},"variable":{"name":"x"}}]})",
       R"({"getVariableResult":[
           {"component":{"name":"A"},"variable":{"name":"x"},"attributeStatus":"Accepted",
            "attributeValue":"7"},
           {"component":{"name":"C"},"variable":{"name":"z"},"attributeStatus":"UnknownVariable"}]})",
       {"A.x/Actual=7"}},
      {"another action", "Reset", R"({"type":"Immediate"})", R"({"status":"Accepted"})", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> got;
    for (const auto& u :
         ConfirmedAttributes(c.action, json::parse(c.request), json::parse(c.result))) {
      got.push_back(u.name.component + "." + u.name.variable + "/" + u.type + "=" +
                    u.value.value_or("<none>"));
    }
    EXPECT_EQ(got, c.expected);
  }
}

}  // namespace
}  // namespace csms::control
