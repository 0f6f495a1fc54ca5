// Issue #14, the token store: PUT (201 / 200), GET in any case, list filters (an id prefix too)
// and paging, DELETE, bad input (an id over 36 characters, an unknown type, unknown fields), the
// audit log, and streamed bulk imports through the real gateway and control: 20,000 CSV lines
// with bad ones reported by line number, and JSON lines.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "csms/control/v1/tokens.grpc.pb.h"
#include "net_clients.h"
#include "ocpp_payloads.h"
#include "process.h"
#include "shared_stack_test.h"
#include "wait_until.h"

namespace csms::testing {
namespace {

using nlohmann::json;

class Tokens : public SharedStackTest<Tokens> {
 public:
  static void Configure(Stack::Options& options) { options.name = "tokens"; }

 protected:
  HttpResult Rest(const std::string& method, const std::string& target, const json& body = {}) {
    return HttpCall(stack_->http_port, method, target, body.is_null() ? "" : body.dump());
  }
  HttpResult Raw(const std::string& method, const std::string& target, const std::string& body) {
    return HttpCall(stack_->http_port, method, target, body, std::chrono::seconds(120));
  }
};

TEST_F(Tokens, PutGetReplaceDelete) {
  auto created = Rest("PUT", "/tokens/ISO14443/04a2B3c4",
                      json{{"account_id", "acct-1"},
                           {"group", {{"id_token", "FLEET-1"}, {"type", "Central"}}},
                           {"stations", json::array({"S1", "S2"})},
                           {"expires_at", "2030-01-01T00:00:00Z"},
                           {"personal_message", "Grüß Gott"}});
  ASSERT_EQ(created.status, 201) << created.body;
  json token = created.Json()["token"];
  EXPECT_EQ(token["status"], "Accepted");
  EXPECT_EQ(token["max_concurrent"], 1);
  EXPECT_EQ(token["group"]["id_token"], "FLEET-1");
  EXPECT_EQ(token["stations"], json::array({"S1", "S2"}));
  EXPECT_EQ(token["expires_at"], "2030-01-01T00:00:00.000Z");
  EXPECT_EQ(token["personal_message"], "Grüß Gott");
  EXPECT_TRUE(created.Json()["created"].get<bool>());

  auto got = Rest("GET", "/tokens/ISO14443/04A2B3C4");  // any case
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Json()["token"]["id_token"], "04a2B3c4");
  EXPECT_EQ(got.Json()["token"]["account_id"], "acct-1");
  EXPECT_EQ(Rest("GET", "/tokens/ISO15693/04A2B3C4").status, 404);

  auto replaced = Rest("PUT", "/tokens/ISO14443/04A2B3C4", json{{"status", "Blocked"}});
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_FALSE(replaced.Json()["created"].get<bool>());
  EXPECT_EQ(replaced.Json()["token"]["status"], "Blocked");
  EXPECT_TRUE(replaced.Json()["token"]["group"].is_null());  // the whole token is replaced
  EXPECT_TRUE(replaced.Json()["token"]["stations"].is_null());

  auto audit = Rest("GET", "/token-audit?type=ISO14443&id_token=04a2b3c4");
  ASSERT_EQ(audit.status, 200) << audit.body;
  ASSERT_EQ(audit.Json()["entries"].size(), 2u);
  EXPECT_EQ(audit.Json()["entries"][0]["action"], "replaced");
  EXPECT_EQ(audit.Json()["entries"][0]["before"]["status"], "Accepted");
  EXPECT_EQ(audit.Json()["entries"][0]["after"]["status"], "Blocked");
  EXPECT_EQ(audit.Json()["entries"][1]["action"], "created");

  auto deleted = Rest("DELETE", "/tokens/ISO14443/04a2b3c4");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.Json()["token"]["status"], "Blocked");
  EXPECT_EQ(Rest("GET", "/tokens/ISO14443/04A2B3C4").status, 404);
  auto again = Rest("DELETE", "/tokens/ISO14443/04A2B3C4");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.Json()["error"], "not_found");
}

TEST_F(Tokens, BadInputIsRefused) {
  struct Case {
    const char* target;
    json body;
    int status;
    const char* message_part;
  };
  const Case cases[] = {
      {"/tokens/ISO14443/0123456789012345678901234567890123456", json::object(), 400, "over 36"},
      {"/tokens/RFID/ABC", json::object(), 400, "IdTokenEnumType"},
      {"/tokens/ISO14443/ABC", json{{"colour", "red"}}, 400, "unknown field"},
      {"/tokens/ISO14443/ABC", json{{"status", "Stolen"}}, 400, "status"},
      {"/tokens/ISO14443/ABC", json{{"max_concurrent", 0}}, 400, "max_concurrent"},
      {"/tokens/ISO14443/ABC", json{{"group", {{"id_token", "G"}}}}, 400, "both"},
      {"/tokens/ISO14443/ABC", json{{"personal_message", std::string(513, 'm')}}, 400, "512"},
      {"/tokens/ISO14443/ABC", json{{"stations", json::array({"S1", ""})}}, 400, "empty station"},
  };
  for (const auto& c : cases) {
    auto r = Rest("PUT", c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.body.dump() << ": " << r.body;
    EXPECT_EQ(r.Json().value("error", ""), "bad_request") << r.body;
    EXPECT_NE(r.Json().value("message", "").find(c.message_part), std::string::npos)
        << c.body.dump() << ": " << r.body;
  }
  EXPECT_EQ(Rest("GET", "/tokens/RFID/ABC").status, 400);
  EXPECT_EQ(Rest("GET", "/tokens?status=Stolen").status, 400);
  EXPECT_EQ(Rest("GET", "/tokens?cursor=nonsense").status, 400);
  EXPECT_EQ(Rest("POST", "/tokens/ISO14443/ABC", json::object()).status, 405);
  EXPECT_EQ(Rest("GET", "/tokens:import").status, 405);
}

TEST_F(Tokens, ListsFilterAndPage) {
  for (int i = 0; i < 12; ++i) {
    json body{{"account_id", i % 3 == 0 ? "acct-list" : "acct-other"}};
    if (i == 6) body["status"] = "Blocked";
    char id[16];
    std::snprintf(id, sizeof id, "LIST%02d", i);
    ASSERT_EQ(Rest("PUT", std::string("/tokens/KeyCode/") + id, body).status, 201);
  }
  std::vector<std::string> ids;
  std::string cursor;
  int pages = 0;
  do {
    auto r = Rest("GET", "/tokens?account_id=acct-list&limit=3" +
                             (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    const json page = r.Json();
    for (const auto& t : page["tokens"]) ids.push_back(t["id_token"]);
    cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(ids, (std::vector<std::string>{"LIST00", "LIST03", "LIST06", "LIST09"}));
  EXPECT_EQ(pages, 2);
  auto blocked = Rest("GET", "/tokens?account_id=acct-list&status=Blocked");
  ASSERT_EQ(blocked.status, 200);
  ASSERT_EQ(blocked.Json()["tokens"].size(), 1u);
  EXPECT_EQ(blocked.Json()["tokens"][0]["id_token"], "LIST06");
}

TEST_F(Tokens, ListsByIdPrefix) {
  // Across types, in any case, with the other filters and paging; an exact id is its own prefix.
  for (const auto& [type, id] :
       std::vector<std::pair<std::string, std::string>>{{"ISO14443", "AB12CD01"},
                                                        {"ISO14443", "ab12cd02"},
                                                        {"Central", "Ab12-central"},
                                                        {"ISO14443", "AB13CD03"},
                                                        {"Central", "ab1"},
                                                        {"KeyCode", "zz-ab12"}}) {
    json body{{"account_id", "acct-prefix"}};
    if (id == "ab12cd02") body["status"] = "Blocked";
    ASSERT_EQ(Rest("PUT", "/tokens/" + type + "/" + id, body).status, 201) << id;
  }
  auto ids = [&](const std::string& query) {
    std::vector<std::string> out;
    std::string cursor;
    for (int pages = 0; pages < 10; ++pages) {
      auto r = Rest("GET",
                    "/tokens?" + query + "&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      const json page = r.Json();
      for (const auto& t : page["tokens"]) out.push_back(t["id_token"]);
      const json& next = page["next_cursor"];
      if (next.is_null()) break;
      cursor = next.get<std::string>();
    }
    return out;
  };
  using Ids = std::vector<std::string>;
  EXPECT_EQ(ids("id_prefix=aB12"), (Ids{"Ab12-central", "AB12CD01", "ab12cd02"}));
  EXPECT_EQ(ids("id_prefix=AB1"), (Ids{"ab1", "Ab12-central", "AB12CD01", "ab12cd02", "AB13CD03"}));
  EXPECT_EQ(ids("id_prefix=ab12cd02"), (Ids{"ab12cd02"}));
  EXPECT_EQ(ids("id_prefix=AB12&status=Blocked"), (Ids{"ab12cd02"}));
  EXPECT_EQ(ids("id_prefix=AB12&account_id=acct-other"), Ids{});
  EXPECT_EQ(ids("id_prefix=ab12-%25"), Ids{});  // no pattern characters
  EXPECT_EQ(ids("id_prefix=nothing-like-it"), Ids{});
  EXPECT_EQ(Rest("GET", "/tokens?id_prefix=" + std::string(37, 'a')).status, 400);
}

TEST_F(Tokens, ImportsTwentyThousandCsvLinesReportingTheBadOnes) {
  std::string csv = "id_token,type,status,account_id,max_concurrent,stations\r\n";
  const std::set<int> bad_lines = {5, 1234, 10001, 19999};
  for (int line = 2; line <= 20001; ++line) {
    const std::string id = "CSV" + std::to_string(line);
    if (line == 5) {
      csv += id + ",RFID,,,,\r\n";  // unknown type
    } else if (line == 1234) {
      csv += std::string(37, 'X') + ",ISO14443,,,,\r\n";  // over 36 characters
    } else if (line == 10001) {
      csv += id + ",ISO14443,Lost,,,\r\n";  // unknown status
    } else if (line == 19999) {
      csv += id + ",ISO14443,,acct-csv,0,\r\n";  // max_concurrent 0
    } else {
      csv += id + ",ISO14443,Accepted,acct-csv,2," + (line % 2 ? "S1;S2" : "") + "\r\n";
    }
  }
  auto r = Raw("POST", "/tokens:import?format=csv", csv);
  ASSERT_EQ(r.status, 200) << r.body;
  json result = r.Json();
  EXPECT_EQ(result["stored"], 20000 - 4);
  EXPECT_EQ(result["failed"], 4);
  EXPECT_FALSE(result["errors_truncated"].get<bool>());
  std::set<int> reported;
  for (const auto& e : result["errors"]) reported.insert(e["line"].get<int>());
  EXPECT_EQ(reported, bad_lines) << result["errors"].dump();

  auto one = Rest("GET", "/tokens/ISO14443/csv20001");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Json()["token"]["max_concurrent"], 2);
  EXPECT_EQ(one.Json()["token"]["stations"], json::array({"S1", "S2"}));
  EXPECT_EQ(Rest("GET", "/tokens/ISO14443/CSV5").status, 404);
  auto page = Rest("GET", "/tokens?account_id=acct-csv&limit=500");
  EXPECT_EQ(page.Json()["tokens"].size(), 500u);
  EXPECT_FALSE(page.Json()["next_cursor"].is_null());

  // One audit entry per batch of up to 1,000 lines, not one per token.
  auto audit = Rest("GET", "/token-audit?limit=500");
  int imported = 0;
  const json entries = audit.Json()["entries"];
  for (const auto& e : entries) imported += e["action"] == "imported";
  EXPECT_EQ(imported, 20);

  // The same import again replaces, and a bad header stores nothing.
  auto bad_header = Raw("POST", "/tokens:import?format=csv", "id_token,kind\nA,ISO14443\n");
  EXPECT_EQ(bad_header.status, 400) << bad_header.body;
  EXPECT_NE(bad_header.body.find("kind"), std::string::npos);
  EXPECT_EQ(Raw("POST", "/tokens:import?format=csv", "").status, 400);
}

TEST_F(Tokens, ImportsJsonLines) {
  std::string body;
  body += R"({"id_token":"JL1","type":"eMAID","account_id":"acct-jl","status":"Blocked"})"
          "\n";
  body += R"({"id_token":"JL2","type":"eMAID","group":{"id_token":"G","type":"Central"}})"
          "\n";
  body += "\n";  // blank lines are skipped
  body += R"({"id_token":"JL3","type":"eMAID","colour":"red"})"
          "\n";
  body += R"({"id_token":"JL4","type":"eMAID")"
          "\n";
  body += std::string(5000, ' ') + "\n";                                  // over 4 KiB
  body += R"({"id_token":"jl1","type":"eMAID","account_id":"acct-jl"})";  // later line wins
  auto r = Raw("POST", "/tokens:import?format=jsonl", body);
  ASSERT_EQ(r.status, 200) << r.body;
  json result = r.Json();
  EXPECT_EQ(result["stored"], 3);
  EXPECT_EQ(result["failed"], 3);
  ASSERT_EQ(result["errors"].size(), 3u);
  EXPECT_EQ(result["errors"][0]["line"], 4);
  EXPECT_NE(result["errors"][0]["message"].get<std::string>().find("colour"), std::string::npos);
  EXPECT_EQ(result["errors"][1]["line"], 5);
  EXPECT_EQ(result["errors"][2]["line"], 6);
  auto jl1 = Rest("GET", "/tokens/eMAID/JL1");
  ASSERT_EQ(jl1.status, 200);
  EXPECT_EQ(jl1.Json()["token"]["status"], "Accepted");
  EXPECT_EQ(jl1.Json()["token"]["id_token"], "jl1");
  EXPECT_EQ(Rest("GET", "/tokens/eMAID/JL2").Json()["token"]["group"]["type"], "Central");
}

TEST_F(Tokens, GrpcTokenService) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(stack_->control_port),
                                     grpc::InsecureChannelCredentials());
  auto stub = control::v1::TokenService::NewStub(channel);
  control::v1::PutTokenRequest put;
  put.set_type("Local");
  put.set_id_token("GRPC-1");
  put.set_max_concurrent(3);
  control::v1::PutTokenResponse created;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub->PutToken(&c1, put, &created).ok());
  EXPECT_TRUE(created.created());
  EXPECT_EQ(created.token().max_concurrent(), 3);
  EXPECT_GT(created.token().change_seq(), 0);

  control::v1::GetTokenRequest get;
  get.set_type("Local");
  get.set_id_token("grpc-1");
  control::v1::Token token;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub->GetToken(&c2, get, &token).ok());
  EXPECT_EQ(token.id_token(), "GRPC-1");

  put.set_id_token(std::string(37, 'x'));
  grpc::ClientContext c3;
  EXPECT_EQ(stub->PutToken(&c3, put, &created).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Authorize answers from the token store (C01, C05-C10): through a raw WebSocket charger for
// the exact answers, and through the schema-validating Node charger, which checks the richest
// answer (group, language, personal message, cache expiry) against the OCA schema.
TEST_F(Tokens, AuthorizeAnswersFromTheStore) {
  const json tokens[] = {
      {{"path", "ISO14443/AUTH-ACC"},
       {"body",
        {{"group", {{"id_token", "FLEET-A"}, {"type", "Central"}}},
         {"language", "en"},
         {"personal_message", "Welcome back"}}}},
      {{"path", "ISO14443/AUTH-BLK"}, {"body", {{"status", "Blocked"}}}},
      {{"path", "ISO14443/AUTH-EXP"}, {"body", {{"expires_at", "2020-01-01T00:00:00Z"}}}},
      {{"path", "ISO14443/AUTH-STA"}, {"body", {{"stations", json::array({"S-NOWHERE"})}}}},
      {{"path", "Central/FLEET-A"}, {"body", json::object()}},
  };
  for (const auto& t : tokens) {
    auto r = Rest("PUT", "/tokens/" + t["path"].get<std::string>(), t["body"]);
    ASSERT_EQ(r.status / 100, 2) << r.body;
  }
  WsClient charger;
  ASSERT_TRUE(charger.Connect(stack_->ocpp_port, "/ocpp/authz_ws"));
  ASSERT_EQ(charger.Call("BootNotification", BootPayload("SN-authz"))[2]["status"], "Accepted");
  auto authorize = [&](const std::string& id, const std::string& type) {
    json reply = charger.Call("Authorize", {{"idToken", {{"idToken", id}, {"type", type}}}});
    EXPECT_EQ(reply[0], 3) << reply.dump();
    return reply.size() > 2 ? reply[2]["idTokenInfo"] : json();
  };
  json accepted = authorize("auth-acc", "ISO14443");  // any case
  EXPECT_EQ(accepted["status"], "Accepted") << accepted.dump();
  EXPECT_TRUE(accepted["cacheExpiryDateTime"].is_string()) << accepted.dump();
  EXPECT_EQ(accepted["groupIdToken"], (json{{"idToken", "FLEET-A"}, {"type", "Central"}}));
  EXPECT_EQ(accepted["language1"], "en");
  EXPECT_EQ(accepted["personalMessage"]["content"], "Welcome back");
  EXPECT_EQ(accepted["personalMessage"]["format"], "UTF8");
  EXPECT_EQ(authorize("AUTH-BLK", "ISO14443")["status"], "Blocked");
  EXPECT_EQ(authorize("AUTH-EXP", "ISO14443")["status"], "Expired");
  EXPECT_EQ(authorize("AUTH-STA", "ISO14443")["status"], "NotAtThisLocation");
  EXPECT_EQ(authorize("AUTH-NOBODY", "ISO14443")["status"], "Unknown");
  // Same value, another type: another token.
  EXPECT_EQ(authorize("AUTH-ACC", "ISO15693")["status"], "Unknown");
  // The group's own token (a fleet card stored as Central) is a token like any other.
  EXPECT_EQ(authorize("FLEET-A", "Central")["status"], "Accepted");
  // C02.FR.02: a charger that authorizes nobody.
  json free = authorize("", "NoAuthorization");
  EXPECT_EQ(free["status"], "Accepted") << free.dump();
  // Blocking takes effect at the next Authorize.
  ASSERT_EQ(Rest("PUT", "/tokens/ISO14443/AUTH-ACC", json{{"status", "Blocked"}}).status, 200);
  EXPECT_EQ(authorize("AUTH-ACC", "ISO14443")["status"], "Blocked");
  ASSERT_EQ(Rest("PUT", "/tokens/ISO14443/AUTH-ACC",
                 tokens[0]["body"])  // accepted again, with its group and message
                .status,
            200);

  auto node = std::make_unique<ChildProcess>();
  ASSERT_TRUE(node->Start(
      "/usr/bin/env",
      {"node", CSMS_SCHEMA_CLIENT_DIR "/schema_client.js",
       "ws://127.0.0.1:" + std::to_string(stack_->ocpp_port) + "/ocpp", "-", "authz_node", "serve"},
      stack_->log_dir() + "/schema-client-authz_node.log"));
  ASSERT_TRUE(WaitUntil([&] {
    return Rest("GET", "/chargers/authz_node").Json().value("connected", false);
  })) << node->ReadLog();
  for (const char* id : {"AUTH-ACC", "AUTH-BLK", "AUTH-NOBODY"}) {
    const json payload = {{"idToken", {{"idToken", id}, {"type", "ISO14443"}}}};
    const json send = {{"action", "Authorize"}, {"payload", payload}};
    auto r = Rest("POST", "/chargers/authz_node/data-transfer",
                  json{{"vendor_id", "com.csms.sim"}, {"message_id", "send"}, {"data", send}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // Each answer, checked against the schema by the charger, is printed as {"sent","response"}.
  std::vector<std::string> statuses;
  ASSERT_TRUE(WaitUntil([&] {
    statuses.clear();
    std::istringstream log(node->ReadLog());
    for (std::string line; std::getline(log, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("sent", "") == "Authorize" && j.contains("response")) {
        statuses.push_back(j["response"]["idTokenInfo"]["status"]);
      }
    }
    return statuses.size() == 3;
  })) << node->ReadLog();
  EXPECT_EQ(statuses, (std::vector<std::string>{"Accepted", "Blocked", "Unknown"}));
  EXPECT_EQ(node->Stop(SIGTERM), 0) << "a schema violation: " << node->ReadLog();
}

}  // namespace
}  // namespace csms::testing
