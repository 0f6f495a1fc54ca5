// Issue #14: local authorization lists (D01, D02) and authorization cache clears (C11), through
// the real gateway and control with the schema-validating Node charger, whose device model
// enables LocalAuthListCtrlr with ItemsPerMessage 2 and room for 4 entries: a Full update once
// the device model arrives (split over two messages), Differentials after token changes (the most
// recently used tokens first, capped at 4), ClearCache after a block, recovery after the charger
// refused a Differential (VersionMismatch) and after it lost its list (GetLocalListVersion 0).
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "net_clients.h"
#include "ocpp_payloads.h"
#include "process.h"
#include "shared_stack_test.h"
#include "wait_until.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class LocalLists : public SharedStackTest<LocalLists> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "local_lists";
    options.device_model_fetch = true;
    options.control_args = {"--local-list-poll", "0.2", "--device-model-fetch-delay-ms", "100"};
  }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump());
  }
  void PutToken(const std::string& id, const json& body = json::object()) {
    auto r = Rest("PUT", "/tokens/ISO14443/" + id, body);
    ASSERT_EQ(r.status / 100, 2) << id << ": " << r.body;
  }
  std::unique_ptr<ChildProcess> StartNode(const std::string& id) {
    auto node = std::make_unique<ChildProcess>();
    EXPECT_TRUE(node->Start(
        "/usr/bin/env",
        {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
         "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-", id, "serve"},
        stack_->log_dir() + "/schema-client-" + id + ".log",
        {{"LOCAL_LIST_ENABLED", "true"},
         {"LOCAL_LIST_CAPACITY", "4"},
         {"LOCAL_LIST_ITEMS_PER_MESSAGE", "2"},
         {"AUTH_CACHE_ENABLED", "true"}}));
    return node;
  }
  // The CALLs the charger answered, as it logged them ({"action","request","response"}).
  static std::vector<json> Answered(ChildProcess& node, const std::string& action) {
    std::vector<json> calls;
    std::istringstream lines(node.ReadLog());
    for (std::string line; std::getline(lines, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("action", "") == action && j.contains("response")) {
        calls.push_back(j);
      }
    }
    return calls;
  }
  // The charger's own list: {"version", "entries": [{"idToken","type","status"}]}.
  json StationList(const std::string& id) {
    auto r = Rest("POST", "/chargers/" + id + "/data-transfer",
                  json{{"vendor_id", "com.csms.sim"}, {"message_id", "local-list"}});
    if (r.status != 200) return json();  // not connected (yet)
    return r.Json()["response"].value("data", json());
  }
  static std::vector<std::string> Ids(const json& list) {
    std::vector<std::string> ids;
    if (!list.is_object()) return {"(no answer)"};
    for (const auto& e : list["entries"]) ids.push_back(e["idToken"]);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  bool ListIs(const std::string& id, const std::vector<std::string>& ids) {
    return WaitUntil([&] { return Ids(StationList(id)) == ids; }, seconds(20));
  }
};

TEST_F(LocalLists, FullThenDifferentialsCappedSplitAndRecovered) {
  // Five usable tokens, and three that no list may hold: blocked, expired, valid elsewhere only.
  for (const char* id : {"LL-1", "LL-2", "LL-3", "LL-4", "LL-5"})
    ASSERT_NO_FATAL_FAILURE(PutToken(id));
  ASSERT_NO_FATAL_FAILURE(PutToken("LL-BLK", {{"status", "Blocked"}}));
  ASSERT_NO_FATAL_FAILURE(PutToken("LL-EXP", {{"expires_at", "2020-01-01T00:00:00Z"}}));
  ASSERT_NO_FATAL_FAILURE(PutToken("LL-FAR", {{"stations", json::array({"S-NOWHERE"})}}));

  auto node = StartNode("ll_node");
  // The device model arrives, then a Full of the 4 newest tokens (the cap), in two messages.
  ASSERT_TRUE(ListIs("ll_node", {"LL-2", "LL-3", "LL-4", "LL-5"})) << node->ReadLog();
  auto sends = Answered(*node, "SendLocalList");
  ASSERT_GE(sends.size(), 2u) << node->ReadLog();
  EXPECT_EQ(sends[0]["request"]["updateType"], "Full");
  EXPECT_EQ(sends[0]["request"]["localAuthorizationList"].size(), 2u);
  EXPECT_EQ(sends[1]["request"]["updateType"], "Differential");
  EXPECT_GT(sends[1]["request"]["versionNumber"], sends[0]["request"]["versionNumber"]);
  for (const auto& s : sends) EXPECT_EQ(s["response"]["status"], "Accepted") << s.dump();
  EXPECT_EQ(Answered(*node, "GetLocalListVersion").size(), 1u);
  const json entry = sends[0]["request"]["localAuthorizationList"][0];
  EXPECT_EQ(entry["idTokenInfo"]["status"], "Accepted") << entry.dump();

  // LL-1 authorizes a transaction (on another charger), so it is the most recently used; a new
  // token LL-6 is the newest: the list becomes LL-1, LL-6 and the two newest others.
  {
    WsClient other;
    ASSERT_TRUE(other.Connect(stack_->ocpp_port, "/ocpp/ll_ws"));
    ASSERT_EQ(other.Call("BootNotification", BootPayload("SN-llws"))[2]["status"], "Accepted");
    json started = StandardTxEvent("Started", "ll-tx-1", 0, "2026-12-07T09:00:00Z", 0);
    started["idToken"] = {{"idToken", "LL-1"}, {"type", "ISO14443"}};
    json reply = other.Call("TransactionEvent", started);
    ASSERT_EQ(reply[2]["idTokenInfo"]["status"], "Accepted") << reply.dump();
  }
  const size_t before = Answered(*node, "SendLocalList").size();
  ASSERT_NO_FATAL_FAILURE(PutToken("LL-6"));
  ASSERT_TRUE(ListIs("ll_node", {"LL-1", "LL-4", "LL-5", "LL-6"})) << node->ReadLog();
  sends = Answered(*node, "SendLocalList");
  for (size_t i = before; i < sends.size(); ++i) {
    EXPECT_EQ(sends[i]["request"]["updateType"], "Differential") << sends[i].dump();
    EXPECT_LE(sends[i]["request"]["localAuthorizationList"].size(), 2u);
    EXPECT_EQ(sends[i]["response"]["status"], "Accepted") << sends[i].dump();
  }
  // Removals come as entries without idTokenInfo, before the additions.
  ASSERT_GE(sends.size() - before, 2u);
  EXPECT_FALSE(sends[before]["request"]["localAuthorizationList"][0].contains("idTokenInfo"));

  // Blocking a token takes it out of the list and clears the charger's authorization cache.
  const size_t clears = Answered(*node, "ClearCache").size();
  ASSERT_NO_FATAL_FAILURE(PutToken("LL-4", {{"status", "Blocked"}}));
  ASSERT_TRUE(ListIs("ll_node", {"LL-1", "LL-3", "LL-5", "LL-6"})) << node->ReadLog();
  EXPECT_TRUE(WaitUntil([&] { return Answered(*node, "ClearCache").size() > clears; }))
      << node->ReadLog();

  // The charger's list got a higher version behind the CSMS's back: the next Differential gets
  // VersionMismatch, and a Full puts the list right.
  auto bumped = Rest("POST", "/chargers/ll_node/data-transfer",
                     json{{"vendor_id", "com.csms.sim"},
                          {"message_id", "set-local-list-version"},
                          {"data", {{"version", 1000}}}});
  ASSERT_EQ(bumped.status, 200) << bumped.body;
  ASSERT_EQ(bumped.Json()["response"]["status"], "Accepted") << bumped.body;
  ASSERT_NO_FATAL_FAILURE(PutToken("LL-7"));
  ASSERT_TRUE(ListIs("ll_node", {"LL-1", "LL-5", "LL-6", "LL-7"})) << node->ReadLog();
  sends = Answered(*node, "SendLocalList");
  bool mismatch = false, full_after = false;
  for (const auto& s : sends) {
    if (s["response"]["status"] == "VersionMismatch") mismatch = true;
    if (mismatch && s["request"]["updateType"] == "Full") full_after = true;
  }
  EXPECT_TRUE(mismatch && full_after) << node->ReadLog();

  // A charger that lost its list (a new process: version 0) gets a Full on its next connection.
  ASSERT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
  node = StartNode("ll_node");
  ASSERT_TRUE(ListIs("ll_node", {"LL-1", "LL-5", "LL-6", "LL-7"})) << node->ReadLog();
  sends = Answered(*node, "SendLocalList");
  ASSERT_FALSE(sends.empty());
  EXPECT_EQ(sends[0]["request"]["updateType"], "Full");
  EXPECT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
}

}  // namespace
}  // namespace csms::testing
