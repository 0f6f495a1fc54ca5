// Issue #14: TransactionEvents' tokens decided from the token store (E05, C09, ConcurrentTx),
// through the real gateway, control and billing: a Started with a blocked token is answered
// Blocked and its session flagged; a token's second concurrent transaction is ConcurrentTx until
// the first ends or its connector is Available again; another token of the group stops a session;
// NoAuthorization; a repeated event gets the first answer; sessions and daily statistics by
// account. Then the seed's REST start with AuthorizeRemoteStart through the schema-validating
// Node charger, which also checks the richest idTokenInfo against the OCPP schema.
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

class TransactionAuthorization : public SharedStackTest<TransactionAuthorization> {
 public:
  static void Configure(Stack::Options& options) { options.name = "transaction_authorization"; }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump());
  }
  void PutToken(const std::string& path, const json& body) {
    auto r = Rest("PUT", "/tokens/" + path, body);
    ASSERT_EQ(r.status / 100, 2) << path << ": " << r.body;
  }
  json Session(const std::string& charger, const std::string& tx) {
    auto r = Rest("GET", "/sessions/" + tx + "?charger_id=" + charger);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  static std::set<std::string> Ids(const json& sessions) {
    std::set<std::string> ids;
    for (const auto& s : sessions) ids.insert(s["transaction_id"].get<std::string>());
    return ids;
  }
};

// A Started (or other) event on `evse` carrying `token` (type ISO14443 unless given).
json TxEvent(const std::string& type, const std::string& tx, int seq, const std::string& time,
             double wh, const std::string& token, int evse = 1,
             const std::string& token_type = "ISO14443") {
  json event = StandardTxEvent(type, tx, seq, time, wh);
  event["evse"] = {{"id", evse}, {"connectorId", 1}};
  event["idToken"] = {{"idToken", token}, {"type", token_type}};
  if (type == "Started") event["triggerReason"] = "Authorized";
  if (type == "Ended") event["triggerReason"] = "StopAuthorized";
  return event;
}

TEST_F(TransactionAuthorization, DecidesEachTransactionsToken) {
  ASSERT_NO_FATAL_FAILURE(
      PutToken("ISO14443/TX-ACC", {{"account_id", "acct-tx"},
                                   {"group", {{"id_token", "FLEET-T"}, {"type", "Central"}}},
                                   {"personal_message", "Hello fleet"}}));
  ASSERT_NO_FATAL_FAILURE(PutToken(
      "ISO14443/TX-MEMBER",
      {{"account_id", "acct-tx"}, {"group", {{"id_token", "FLEET-T"}, {"type", "Central"}}}}));
  ASSERT_NO_FATAL_FAILURE(
      PutToken("ISO14443/TX-BLK", {{"status", "Blocked"}, {"account_id", "acct-blk"}}));
  ASSERT_NO_FATAL_FAILURE(PutToken("ISO14443/TX-REP", json::object()));
  ASSERT_NO_FATAL_FAILURE(PutToken("ISO14443/TX-STALE", json::object()));

  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack_->ocpp_port, "/ocpp/txauth_ws"));
  ASSERT_EQ(charger.Call("BootNotification", BootPayload("SN-txauth"))[2]["status"], "Accepted");
  ASSERT_EQ(charger.Call("StatusNotification", StatusPayload("Available"))[0], 3);
  auto send = [&](const json& event) {
    json reply = charger.Call("TransactionEvent", event);
    EXPECT_EQ(reply[0], 3) << reply.dump();
    return reply.size() > 2 ? reply[2] : json();
  };
  auto status_of = [&](const json& event) {
    return send(event).value("/idTokenInfo/status"_json_pointer, std::string("(none)"));
  };

  // E05: a Started with a blocked token is answered Blocked; the session is flagged.
  EXPECT_EQ(status_of(TxEvent("Started", "t-blk", 0, "2026-12-07T09:00:00Z", 0, "tx-blk")),
            "Blocked");
  json blocked = Session("txauth_ws", "t-blk");
  EXPECT_EQ(blocked["authorization"]["status"], "Blocked") << blocked.dump();
  EXPECT_TRUE(blocked["authorization"]["flagged"].get<bool>()) << blocked.dump();
  EXPECT_EQ(blocked["account_id"], "acct-blk");
  EXPECT_EQ(blocked["id_token_type"], "ISO14443");
  // Unknown tokens too.
  EXPECT_EQ(status_of(TxEvent("Started", "t-unk", 0, "2026-12-07T09:00:00Z", 0, "TX-NOBODY")),
            "Unknown");

  // Accepted, with the token's group and message; a second transaction of the same token
  // (max_concurrent 1) on another EVSE is ConcurrentTx and flagged.
  json first = send(TxEvent("Started", "t-1", 0, "2026-12-07T09:01:00Z", 1000, "TX-ACC"));
  EXPECT_EQ(first["idTokenInfo"]["status"], "Accepted") << first.dump();
  EXPECT_EQ(first["idTokenInfo"]["groupIdToken"]["idToken"], "FLEET-T");
  EXPECT_EQ(first["idTokenInfo"]["personalMessage"]["content"], "Hello fleet");
  EXPECT_EQ(Session("txauth_ws", "t-1")["account_id"], "acct-tx");
  EXPECT_EQ(status_of(TxEvent("Started", "t-2", 0, "2026-12-07T09:02:00Z", 0, "TX-ACC", 2)),
            "ConcurrentTx");
  EXPECT_TRUE(Session("txauth_ws", "t-2")["authorization"]["flagged"].get<bool>());

  // C09: another token of the group stops the session; the session stays the first token's.
  json stop = send(TxEvent("Ended", "t-1", 1, "2026-12-07T09:30:00Z", 6000, "TX-MEMBER"));
  EXPECT_EQ(stop["idTokenInfo"]["status"], "Accepted") << stop.dump();
  EXPECT_EQ(stop["idTokenInfo"]["groupIdToken"]["idToken"], "FLEET-T");
  json ended = Session("txauth_ws", "t-1");
  EXPECT_EQ(ended["status"], "ended");
  EXPECT_EQ(ended["user_id"], "TX-ACC");
  EXPECT_FALSE(ended["authorization"]["flagged"].get<bool>()) << ended.dump();
  // Once the first has ended (control learns it right after billing stored it) the token may
  // start again.
  EXPECT_TRUE(WaitUntil([&] {
    const std::string tx = "t-3-" + std::to_string(std::rand());
    return status_of(TxEvent("Started", tx, 0, "2026-12-07T09:31:00Z", 0, "TX-ACC")) == "Accepted";
  }));

  // A transaction that never Ended stops counting once its connector is reported Available.
  EXPECT_EQ(status_of(TxEvent("Started", "t-stale-1", 0, "2026-12-07T09:40:00Z", 0, "TX-STALE", 2)),
            "Accepted");
  EXPECT_EQ(status_of(TxEvent("Started", "t-stale-2", 0, "2026-12-07T09:41:00Z", 0, "TX-STALE")),
            "ConcurrentTx");
  json available = StatusPayload("Available", "2026-12-07T09:42:00Z");
  available["evseId"] = 2;
  ASSERT_EQ(charger.Call("StatusNotification", available)[0], 3);
  EXPECT_TRUE(WaitUntil([&] {
    const std::string tx = "t-stale-3-" + std::to_string(std::rand());
    return status_of(TxEvent("Started", tx, 0, "2026-12-07T09:43:00Z", 0, "TX-STALE")) ==
           "Accepted";
  }));

  // C02.FR.02: NoAuthorization (an empty idToken) is Accepted.
  EXPECT_EQ(status_of(TxEvent("Started", "t-free", 0, "2026-12-07T09:50:00Z", 0, "", 1,
                              "NoAuthorization")),
            "Accepted");

  // A repeated event gets the first answer, and so do later events carrying the same token,
  // even after the token was blocked in between.
  const json rep_started = TxEvent("Started", "t-rep", 0, "2026-12-07T10:00:00Z", 0, "TX-REP");
  EXPECT_EQ(status_of(rep_started), "Accepted");
  ASSERT_NO_FATAL_FAILURE(PutToken("ISO14443/TX-REP", {{"status", "Blocked"}}));
  EXPECT_EQ(status_of(rep_started), "Accepted");  // billing's duplicate: the stored answer
  EXPECT_EQ(status_of(TxEvent("Updated", "t-rep", 1, "2026-12-07T10:05:00Z", 500, "TX-REP")),
            "Accepted");
  // A new transaction of the now blocked token is refused.
  EXPECT_EQ(status_of(TxEvent("Started", "t-rep-2", 0, "2026-12-07T10:06:00Z", 0, "TX-REP", 2)),
            "Blocked");

  // Sessions by account, flagged sessions, and daily statistics by account.
  auto by_account = Rest("GET", "/sessions?account_id=acct-tx");
  ASSERT_EQ(by_account.status, 200) << by_account.body;
  const auto account_ids = Ids(by_account.Json()["sessions"]);
  EXPECT_TRUE(account_ids.count("t-1") && account_ids.count("t-2")) << by_account.body;
  EXPECT_FALSE(account_ids.count("t-blk")) << by_account.body;
  auto flagged = Rest("GET", "/sessions?flagged=true&charger_id=txauth_ws");
  ASSERT_EQ(flagged.status, 200) << flagged.body;
  std::set<std::string> flagged_ids;
  for (const std::string& id : Ids(flagged.Json()["sessions"])) {
    // Retries above that came before control learnt of the end (ConcurrentTx) are flagged too.
    if (id.rfind("t-3-", 0) != 0 && id.rfind("t-stale-3-", 0) != 0) flagged_ids.insert(id);
  }
  EXPECT_EQ(flagged_ids, (std::set<std::string>{"t-blk", "t-unk", "t-2", "t-stale-2", "t-rep-2"}));
  auto stats = Rest("GET", "/stats/daily?date=2026-12-07&account_id=acct-tx");
  ASSERT_EQ(stats.status, 200) << stats.body;
  ASSERT_EQ(stats.Json()["stats"].size(), 1u) << stats.body;
  EXPECT_EQ(stats.Json()["stats"][0]["sessions"], 1);  // t-1, the account's one ended session
  EXPECT_EQ(stats.Json()["stats"][0]["total_energy"], 5);
  EXPECT_EQ(Rest("GET", "/stats/daily?date=2026-12-07&account_id=nobody").Json()["stats"].size(),
            0u);
  EXPECT_EQ(Rest("GET", "/sessions?flagged=maybe").status, 400);
  EXPECT_EQ(Rest("GET", "/sessions?limit=0").status, 400);
}

// The seed's REST start and stop keep working for any id_token (the CSMS accepts the Central
// token it sent itself), also when the charger authorizes remote starts first
// (AuthCtrlr.AuthorizeRemoteStart), all checked against the OCPP schemas by the Node charger.
TEST_F(TransactionAuthorization, RestStartWithAuthorizeRemoteStart) {
  auto node = std::make_unique<ChildProcess>();
  ASSERT_TRUE(node->Start("/usr/bin/env",
                          {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
                           "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-",
                           "txauth_node", "serve"},
                          stack_->log_dir() + "/schema-client-txauth_node.log"));
  ASSERT_TRUE(WaitUntil([&] {
    return Rest("GET", "/chargers/txauth_node").Json().value("connected", false);
  })) << node->ReadLog();
  auto set = Rest("POST", "/chargers/txauth_node/set-variables",
                  json{{"variables", json::array({{{"component", "AuthCtrlr"},
                                                   {"variable", "AuthorizeRemoteStart"},
                                                   {"value", "true"}}})}});
  ASSERT_EQ(set.status, 200) << set.body;
  ASSERT_EQ(set.Json()["response"]["results"][0]["status"], "Accepted") << set.body;

  auto start = Rest("POST", "/chargers/txauth_node/start",
                    json{{"id_token", "any-driver-7"}, {"evse_id", 1}, {"connector_id", 1}});
  ASSERT_EQ(start.status, 200) << start.body << node->ReadLog();
  const std::string tx = start.Json()["transaction_id"];
  ASSERT_FALSE(tx.empty()) << start.body;
  const std::string log = node->ReadLog();
  EXPECT_NE(log.find("Authorize answered {\"idTokenInfo\":{\"status\":\"Accepted\""),
            std::string::npos)
      << log;
  json session = Session("txauth_node", tx);
  EXPECT_EQ(session["authorization"]["status"], "Accepted") << session.dump();
  EXPECT_FALSE(session["authorization"]["flagged"].get<bool>()) << session.dump();
  auto stop = Rest("POST", "/chargers/txauth_node/stop", json{{"transaction_id", tx}});
  EXPECT_EQ(stop.status, 200) << stop.body;

  // The richest TransactionEvent answer (group, language, personal message, cache expiry),
  // validated by the charger, through its "send" DataTransfer.
  ASSERT_NO_FATAL_FAILURE(
      PutToken("eMAID/NODE-RICH", {{"language", "de"},
                                   {"personal_message", "Grüß Gott"},
                                   {"group", {{"id_token", "NODE-FLEET"}, {"type", "Central"}}}}));
  ASSERT_NO_FATAL_FAILURE(PutToken("eMAID/NODE-BLK", {{"status", "Blocked"}}));
  for (const char* token : {"NODE-RICH", "NODE-BLK"}) {
    json event = TxEvent("Started", std::string("node-") + token, 0, "2026-12-07T11:00:00Z", 0,
                         token, 1, "eMAID");
    auto r = Rest("POST", "/chargers/txauth_node/data-transfer",
                  json{{"vendor_id", "com.csms.sim"},
                       {"message_id", "send"},
                       {"data", {{"action", "TransactionEvent"}, {"payload", event}}}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::vector<json> answers;
  ASSERT_TRUE(WaitUntil([&] {
    answers.clear();
    std::istringstream lines(node->ReadLog());
    for (std::string line; std::getline(lines, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("sent", "") == "TransactionEvent" && j.contains("response")) {
        answers.push_back(j["response"]);
      }
    }
    return answers.size() == 2;
  })) << node->ReadLog();
  EXPECT_EQ(answers[0]["idTokenInfo"]["status"], "Accepted") << answers[0].dump();
  EXPECT_EQ(answers[0]["idTokenInfo"]["language1"], "de");
  EXPECT_EQ(answers[0]["idTokenInfo"]["personalMessage"]["content"], "Grüß Gott");
  EXPECT_TRUE(answers[0]["idTokenInfo"]["cacheExpiryDateTime"].is_string());
  EXPECT_EQ(answers[1]["idTokenInfo"]["status"], "Blocked") << answers[1].dump();
  EXPECT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
}

}  // namespace
}  // namespace csms::testing
