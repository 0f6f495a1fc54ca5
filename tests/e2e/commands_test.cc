// Issue #12: the command path end to end. The generic endpoint's checks in the order DESIGN.md
// fixes, each error with its code; the typed endpoints turning version-neutral bodies into the
// exact OCPP CALL; gRPC's statuses and trailing metadata; the command log, paged and redacted.
// A raw charger (WsClient) plays the charger, so every answer, good or bad, is the test's own.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>
#include <utility>
#include <vector>

#include "csms/control/v1/control.grpc.pb.h"
#include "net_clients.h"
#include "ocpp_payloads.h"
#include "shared_stack_test.h"

namespace csms::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kCommandTimeoutS = 2;

class Commands : public SharedStackTest<Commands> {
 public:
  static void Configure(Stack::Options& options) {
    options.name = "commands";
    options.command_timeout_s = kCommandTimeoutS;
  }

 protected:
  // `headers` go with the WebSocket upgrade (e.g. HTTP Basic auth of a provisioned charger).
  std::unique_ptr<WsClient> BootedCharger(const std::string& id,
                                          const std::map<std::string, std::string>& headers = {}) {
    auto client = std::make_unique<WsClient>();
    EXPECT_TRUE(client->Connect(stack_->ocpp_port, "/ocpp/" + id, "ocpp2.0.1", headers));
    json reply = client->Call("BootNotification", BootPayload("SN-" + id));
    EXPECT_EQ(reply[2]["status"], "Accepted") << reply.dump();
    // Control learns of the connection from the gateway's report; wait until it shows.
    for (int i = 0; i < 100; ++i) {
      auto r = HttpCall(stack_->http_port, "GET", "/chargers/" + id);
      if (r.status == 200 && r.Json().value("connected", false)) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return client;
  }

  struct Exchange {
    HttpResult http;
    json call;  // the CALL the charger received (null when none came)
  };

  // Sends the REST request while `charger` waits for the CALL it causes and answers it with
  // `answer(call)` ([3,...] or [4,...] frame as JSON; null: never answer); then runs
  // `then(call)` (if given) before the REST answer is awaited, e.g. for the TransactionEvent a
  // remote start or stop waits for.
  Exchange Command(WsClient& charger, const std::string& method, const std::string& target,
                   const std::string& body, const std::function<json(const json&)>& answer,
                   const std::function<void(const json&)>& then = nullptr) {
    auto http = std::async(std::launch::async, [&] {
      return HttpCall(stack_->http_port, method, target, body, seconds(kCommandTimeoutS + 10));
    });
    Exchange out;
    if (auto frame = charger.Receive(seconds(kCommandTimeoutS + 5))) {
      out.call = json::parse(*frame, nullptr, false);
      json reply = answer(out.call);
      if (!reply.is_null()) charger.SendText(reply.dump());
      if (then) then(out.call);
    }
    out.http = http.get();
    return out;
  }

  static json Result(const json& call, const json& payload) { return json{3, call[1], payload}; }
};

// ---- the generic endpoint: every refusal before anything is sent ----------------------------

struct Refusal {
  const char* name;
  const char* charger;  // "" = the booted test charger
  const char* action;
  const char* body;
  int status;
  const char* error;
  const char* mentions;  // in the message
};

TEST_F(Commands, GenericEndpointRefusesInTheAgreedOrder) {
  auto charger = BootedCharger("cmd_refusals");
  const Refusal cases[] = {
      {"unknown charger", "cmd_nobody", "Reset", R"({"type":"Immediate"})", 404, "unknown_charger",
       "cmd_nobody"},
      // An unknown charger is reported before an unknown action.
      {"unknown charger first", "cmd_nobody", "FlyToTheMoon", "{}", 404, "unknown_charger", ""},
      {"unknown action", "", "FlyToTheMoon", "{}", 404, "unknown_action", "FlyToTheMoon"},
      {"a charger's own message", "", "BootNotification", "{}", 404, "unknown_action", ""},
      {"owned: remote start", "", "RequestStartTransaction",
       R"({"idToken":{"idToken":"A","type":"Central"},"remoteStartId":1})", 422,
       "use_typed_endpoint", "POST /chargers/{id}/start"},
      {"owned: charging profile", "", "SetChargingProfile", "{}", 422, "use_typed_endpoint",
       "PATCH /chargers/{id}/power"},
      {"owned: the password", "", "SetVariables",
       R"({"setVariableData":[{"attributeValue":"0123456789abcdefXYZ",
           "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}}]})",
       422, "use_typed_endpoint", "POST /chargers/{id}/password"},
      // Ownership is decided before the payload is looked at.
      {"owned beats invalid", "", "SendLocalList", R"({"nonsense":true})", 422,
       "use_typed_endpoint", ""},
      {"invalid payload", "", "Reset", R"({"type":"Sometime"})", 400, "invalid_payload", "type"},
      {"missing field", "", "UnlockConnector", R"({"evseId":1})", 400, "invalid_payload",
       "connectorId"},
      {"not JSON", "", "Reset", R"({"type":)", 400, "invalid_payload", "JSON"},
  };
  for (const Refusal& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string id = *c.charger ? c.charger : "cmd_refusals";
    auto r = HttpCall(stack_->http_port, "POST", "/chargers/" + id + "/ocpp/" + c.action, c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    json body = r.Json();
    EXPECT_EQ(body["status"], "error");
    EXPECT_EQ(body["error"], c.error) << r.body;
    EXPECT_NE(body.value("message", "").find(c.mentions), std::string::npos) << r.body;
  }
  // Nothing reached the charger.
  EXPECT_FALSE(charger->Receive(milliseconds(200)).has_value());
}

TEST_F(Commands, GenericEndpointCarriesTheChargersAnswerOrItsFailure) {
  auto charger = BootedCharger("cmd_generic");
  const std::string target = "/chargers/cmd_generic/ocpp/Reset";
  const std::string body = R"({"type":"OnIdle","evseId":1})";

  auto ok = Command(*charger, "POST", target, body, [](const json& call) {
    return Result(call, {{"status", "Scheduled"}});
  });
  EXPECT_EQ(ok.call[2], "Reset");
  EXPECT_EQ(ok.call[3], json::parse(body));  // exactly the operator's payload
  EXPECT_EQ(ok.http.status, 200) << ok.http.body;
  EXPECT_EQ(ok.http.Json(), (json{{"status", "success"}, {"response", {{"status", "Scheduled"}}}}));

  auto refused = Command(*charger, "POST", target, body, [](const json& call) {
    return json{4, call[1], "NotSupported", "no resets here", {{"why", "demo"}}};
  });
  EXPECT_EQ(refused.http.status, 502) << refused.http.body;
  EXPECT_EQ(refused.http.Json()["error"], "charger_error");
  EXPECT_EQ(refused.http.Json()["ocpp_error"], (json{{"code", "NotSupported"},
                                                     {"description", "no resets here"},
                                                     {"details", {{"why", "demo"}}}}));

  auto invalid = Command(*charger, "POST", target, body, [](const json& call) {
    return Result(call, {{"status", "Maybe"}});
  });
  EXPECT_EQ(invalid.http.status, 502) << invalid.http.body;
  EXPECT_EQ(invalid.http.Json()["error"], "invalid_reply");
  EXPECT_NE(invalid.http.Json()["message"].get<std::string>().find("status"), std::string::npos);

  auto silent = Command(*charger, "POST", target, body, [](const json&) { return json(); });
  EXPECT_FALSE(silent.call.is_null());
  EXPECT_EQ(silent.http.status, 504) << silent.http.body;
  EXPECT_EQ(silent.http.Json()["error"], "timeout");
}

TEST_F(Commands, AChargerThatLeftIsOffline) {
  BootedCharger("cmd_gone")->Close();
  json body;
  for (int i = 0; i < 100; ++i) {  // until control has heard of the disconnect
    auto r = HttpCall(stack_->http_port, "POST", "/chargers/cmd_gone/ocpp/ClearCache", "{}");
    body = r.Json();
    if (r.status == 409) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(body["error"], "offline") << body.dump();
}

// ---- typed endpoints: version-neutral bodies, the exact CALL, the charger's status word ----

struct TypedCase {
  const char* path;
  const char* body;
  const char* action;        // the CALL the charger must receive
  const char* call_payload;  // ... with exactly this payload
  const char* answer;        // what the charger answers
  const char* response;      // the REST response's "response"
};

TEST_F(Commands, TypedEndpointsSendTheExactCallAndReturnTheChargersAnswer) {
  auto charger = BootedCharger("cmd_typed");
  const TypedCase cases[] = {
      {"reset", R"({"type":"OnIdle","evse_id":1})", "Reset", R"({"type":"OnIdle","evseId":1})",
       R"({"status":"Scheduled"})",
       R"({"status":"Scheduled","reason_code":"","additional_info":""})"},
      {"reset", "", "Reset", R"({"type":"Immediate"})",
       R"({"status":"Rejected","statusInfo":{"reasonCode":"Busy","additionalInfo":"firmware"}})",
       R"({"status":"Rejected","reason_code":"Busy","additional_info":"firmware"})"},
      {"availability", R"({"operational_status":"Inoperative","evse_id":1,"connector_id":1})",
       "ChangeAvailability",
       R"({"operationalStatus":"Inoperative","evse":{"id":1,"connectorId":1}})",
       R"({"status":"Accepted"})",
       R"({"status":"Accepted","reason_code":"","additional_info":""})"},
      {"unlock", R"({"evse_id":1,"connector_id":1})", "UnlockConnector",
       R"({"evseId":1,"connectorId":1})", R"({"status":"Unlocked"})",
       R"({"status":"Unlocked","reason_code":"","additional_info":""})"},
      {"trigger", R"({"requested_message":"StatusNotification","evse_id":1})", "TriggerMessage",
       R"({"requestedMessage":"StatusNotification","evse":{"id":1}})", R"({"status":"Accepted"})",
       R"({"status":"Accepted","reason_code":"","additional_info":""})"},
      {"clear-cache", "{}", "ClearCache", "{}", R"({"status":"Accepted"})",
       R"({"status":"Accepted","reason_code":"","additional_info":""})"},
      {"get-variables",
       R"({"variables":[{"component":"OCPPCommCtrlr","variable":"HeartbeatInterval"},
           {"component":"EVSE","evse_id":1,"variable":"Power","attribute_type":"MaxSet"}]})",
       "GetVariables",
       R"({"getVariableData":[{"component":{"name":"OCPPCommCtrlr"},
           "variable":{"name":"HeartbeatInterval"}},{"component":{"name":"EVSE","evse":{"id":1}},
           "variable":{"name":"Power"},"attributeType":"MaxSet"}]})",
       R"({"getVariableResult":[{"attributeStatus":"Accepted","attributeValue":"30",
           "component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}},
           {"attributeStatus":"UnknownVariable","attributeType":"MaxSet",
           "component":{"name":"EVSE","evse":{"id":1}},"variable":{"name":"Power"}}]})",
       R"({"calls":1,"results":[{"component":"OCPPCommCtrlr","component_instance":"",
           "variable":"HeartbeatInterval","variable_instance":"","attribute_type":"Actual",
           "status":"Accepted","value":"30","reason_code":"","additional_info":""},
           {"component":"EVSE","component_instance":"","evse_id":1,"variable":"Power",
           "variable_instance":"","attribute_type":"MaxSet","status":"UnknownVariable",
           "reason_code":"","additional_info":""}]})"},
      {"set-variables",
       R"({"variables":[{"component":"OCPPCommCtrlr","variable":"HeartbeatInterval",
           "value":"60"}]})",
       "SetVariables",
       R"({"setVariableData":[{"attributeValue":"60","component":{"name":"OCPPCommCtrlr"},
           "variable":{"name":"HeartbeatInterval"}}]})",
       R"({"setVariableResult":[{"attributeStatus":"RebootRequired",
           "component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]})",
       R"({"calls":1,"results":[{"component":"OCPPCommCtrlr","component_instance":"",
           "variable":"HeartbeatInterval","variable_instance":"","attribute_type":"Actual",
           "status":"RebootRequired","reason_code":"","additional_info":""}]})"},
      {"transaction-status", R"({"transaction_id":"tx-1"})", "GetTransactionStatus",
       R"({"transactionId":"tx-1"})", R"({"messagesInQueue":false,"ongoingIndicator":true})",
       R"({"messages_in_queue":false,"ongoing_indicator":true})"},
      {"data-transfer", R"({"vendor_id":"com.example","message_id":"m1","data":{"a":[1,"x"]}})",
       "DataTransfer", R"({"vendorId":"com.example","messageId":"m1","data":{"a":[1,"x"]}})",
       R"({"status":"Accepted","data":{"ok":true}})",
       R"({"status":"Accepted","data":{"ok":true},"reason_code":"","additional_info":""})"},
  };
  for (const TypedCase& c : cases) {
    SCOPED_TRACE(std::string(c.path) + " " + c.body);
    auto x = Command(*charger, "POST", std::string("/chargers/cmd_typed/") + c.path, c.body,
                     [&](const json& call) { return Result(call, json::parse(c.answer)); });
    ASSERT_FALSE(x.call.is_null()) << x.http.body;
    EXPECT_EQ(x.call[2], c.action);
    EXPECT_EQ(x.call[3], json::parse(c.call_payload));
    EXPECT_EQ(x.http.status, 200) << x.http.body;
    EXPECT_EQ(x.http.Json()["status"], "success");
    EXPECT_EQ(x.http.Json()["response"], json::parse(c.response)) << x.http.body;
  }
}

TEST_F(Commands, TypedEndpointsRefuseBadBodiesBeforeSending) {
  auto charger = BootedCharger("cmd_typed_bad");
  const std::pair<const char*, const char*> cases[] = {
      {"reset", R"({"type":"Sometime"})"},   // not a ResetEnum value
      {"reset", R"({"kind":"Immediate"})"},  // no such field
      {"availability", R"({})"},             // operational_status missing
      {"availability", R"({"operational_status":"Operative","connector_id":1})"},  // no evse_id
      {"unlock", R"({"evse_id":1})"},  // connector_id missing
      {"trigger", R"({"requested_message":"Coffee"})"},
      {"get-variables", R"({"variables":[]})"},
      {"set-variables",
       R"({"variables":[{"component":"SecurityCtrlr","variable":"BasicAuthPassword",
           "value":"0123456789abcdefXYZ"}]})"},    // 422: the CSMS owns it
      {"data-transfer", R"({"message_id":"m"})"},  // vendor_id missing
  };
  for (const auto& [path, body] : cases) {
    SCOPED_TRACE(std::string(path) + " " + body);
    auto r =
        HttpCall(stack_->http_port, "POST", std::string("/chargers/cmd_typed_bad/") + path, body);
    EXPECT_TRUE(r.status == 400 || r.status == 422) << r.status << " " << r.body;
    EXPECT_EQ(r.Json()["status"], "error");
  }
  EXPECT_FALSE(charger->Receive(milliseconds(200)).has_value());
}

// ---- splitting by the charger's limits ------------------------------------------------------

TEST_F(Commands, GetVariablesIsSplitByTheItemsPerMessageTheChargerReported) {
  auto charger = BootedCharger("cmd_split");
  // The charger tells its limit in an answer; control remembers it.
  auto learn = Command(
      *charger, "POST", "/chargers/cmd_split/get-variables",
      R"({"variables":[{"component":"DeviceDataCtrlr","variable":"ItemsPerMessage",
          "variable_instance":"GetVariables"}]})",
      [](const json& call) {
        return Result(call, json::parse(R"({"getVariableResult":[{"attributeStatus":"Accepted",
            "attributeValue":"2","component":{"name":"DeviceDataCtrlr"},
            "variable":{"name":"ItemsPerMessage","instance":"GetVariables"}}]})"));
      });
  ASSERT_EQ(learn.http.status, 200) << learn.http.body;

  json variables = json::array();
  for (int i = 0; i < 5; ++i) {
    variables.push_back({{"component", "C"}, {"variable", "V" + std::to_string(i)}});
  }
  auto http = std::async(std::launch::async, [&] {
    return HttpCall(stack_->http_port, "POST", "/chargers/cmd_split/get-variables",
                    json{{"variables", variables}}.dump(), seconds(10));
  });
  std::vector<size_t> sizes;
  for (int i = 0; i < 3; ++i) {
    auto frame = charger->Receive(seconds(5));
    ASSERT_TRUE(frame.has_value()) << "CALL " << i;
    json call = json::parse(*frame);
    json results = json::array();
    for (const auto& item : call[3]["getVariableData"]) {
      results.push_back({{"attributeStatus", "Accepted"},
                         {"attributeValue", "x"},
                         {"component", item["component"]},
                         {"variable", item["variable"]}});
    }
    sizes.push_back(results.size());
    charger->SendText(Result(call, {{"getVariableResult", results}}).dump());
  }
  auto r = http.get();
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["response"]["calls"], 3);
  ASSERT_EQ(r.Json()["response"]["results"].size(), 5u);
  EXPECT_EQ(r.Json()["response"]["results"][4]["variable"], "V4");  // in the order asked
}

// ---- gRPC ------------------------------------------------------------------------------------

TEST_F(Commands, GrpcStatusesAndTheOcppErrorCodeInTrailingMetadata) {
  auto charger = BootedCharger("cmd_grpc");
  auto stub = control::v1::ControlService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(stack_->control_port), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    control::v1::SendOcppCallRequest request;
    request.set_charger_id("cmd_nobody");
    request.set_action("Reset");
    request.set_payload_json(R"({"type":"Immediate"})");
    control::v1::SendOcppCallResponse response;
    EXPECT_EQ(stub->SendOcppCall(&ctx, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    control::v1::SendOcppCallRequest request;
    request.set_charger_id("cmd_grpc");
    request.set_action("RequestStopTransaction");
    request.set_payload_json(R"({"transactionId":"x"})");
    control::v1::SendOcppCallResponse response;
    EXPECT_EQ(stub->SendOcppCall(&ctx, request, &response).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  // A CALLERROR from the charger: ABORTED, the code in the message and in trailing metadata.
  grpc::ClientContext ctx;
  control::v1::ResetChargerRequest request;
  request.set_charger_id("cmd_grpc");
  control::v1::CommandStatus response;
  auto done =
      std::async(std::launch::async, [&] { return stub->ResetCharger(&ctx, request, &response); });
  auto call = json::parse(charger->Receive(seconds(5)).value_or("null"));
  ASSERT_TRUE(call.is_array());
  EXPECT_EQ(call[3], (json{{"type", "Immediate"}}));
  charger->SendText(json{4, call[1], "InternalError", "relay stuck", json::object()}.dump());
  grpc::Status status = done.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(status.error_message().find("InternalError"), std::string::npos);
  auto trailing = ctx.GetServerTrailingMetadata();
  auto it = trailing.find("ocpp-error-code");
  ASSERT_NE(it, trailing.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "InternalError");

  // And a success.
  grpc::ClientContext ok_ctx;
  auto ok = std::async(std::launch::async,
                       [&] { return stub->ResetCharger(&ok_ctx, request, &response); });
  call = json::parse(charger->Receive(seconds(5)).value_or("null"));
  ASSERT_TRUE(call.is_array());
  charger->SendText(json{3, call[1], {{"status", "Accepted"}}}.dump());
  EXPECT_TRUE(ok.get().ok());
  EXPECT_EQ(response.status(), "Accepted");
}

// ---- the command log -------------------------------------------------------------------------

TEST_F(Commands, EveryCommandIsLoggedNewestFirstPagedAndRedacted) {
  auto charger = BootedCharger("cmd_log");
  auto accept = [](const json& call) { return Result(call, {{"status", "Accepted"}}); };
  Command(*charger, "POST", "/chargers/cmd_log/clear-cache", "{}", accept);
  Command(*charger, "POST", "/chargers/cmd_log/ocpp/ClearCache", "{}", [](const json& call) {
    return json{4, call[1], "GenericError", "nope", json::object()};
  });
  // A secret in an allowed command: the VPN password of a network profile.
  const json profile = json::parse(R"({"configurationSlot":1,"connectionData":{
      "ocppVersion":"OCPP20","ocppTransport":"JSON","ocppCsmsUrl":"wss://csms.example/ocpp",
      "messageTimeout":30,"securityProfile":2,"ocppInterface":"Wired0",
      "vpn":{"server":"vpn.example","user":"u","password":"hunter2-vpn","key":"s3cret-psk",
             "type":"IPSec"}}})");
  auto sent = Command(*charger, "POST", "/chargers/cmd_log/ocpp/SetNetworkProfile", profile.dump(),
                      [](const json& call) {
                        return Result(call, {{"status", "Accepted"}});
                      });
  EXPECT_EQ(sent.http.status, 200) << sent.http.body;
  EXPECT_EQ(sent.call[3]["connectionData"]["vpn"]["password"], "hunter2-vpn");  // sent as is

  auto page1 = HttpCall(stack_->http_port, "GET", "/chargers/cmd_log/commands?limit=2");
  ASSERT_EQ(page1.status, 200) << page1.body;
  json p1 = page1.Json();
  ASSERT_EQ(p1["commands"].size(), 2u);
  EXPECT_EQ(p1["commands"][0]["action"], "SetNetworkProfile");
  EXPECT_EQ(p1["commands"][0]["outcome"], "result");
  EXPECT_EQ(p1["commands"][0]["issued_by"], "anonymous");  // open mode in this stack
  EXPECT_EQ(p1["commands"][0]["request"]["connectionData"]["vpn"]["password"], "<redacted>");
  EXPECT_EQ(p1["commands"][0]["request"]["connectionData"]["vpn"]["key"], "<redacted>");
  EXPECT_EQ(p1["commands"][0]["request"]["connectionData"]["vpn"]["user"], "u");
  EXPECT_EQ(p1["commands"][1]["action"], "ClearCache");
  EXPECT_EQ(p1["commands"][1]["outcome"], "call_error");
  EXPECT_EQ(p1["commands"][1]["response"]["code"], "GenericError");
  ASSERT_TRUE(p1["next_cursor"].is_string());

  auto page2 =
      HttpCall(stack_->http_port, "GET",
               "/chargers/cmd_log/commands?limit=2&cursor=" + p1["next_cursor"].get<std::string>());
  json p2 = page2.Json();
  ASSERT_EQ(p2["commands"].size(), 1u) << page2.body;
  EXPECT_EQ(p2["commands"][0]["outcome"], "result");
  EXPECT_EQ(p2["commands"][0]["response"], (json{{"status", "Accepted"}}));
  EXPECT_TRUE(p2["next_cursor"].is_null());
  EXPECT_GE(p2["commands"][0]["latency_ms"].get<int>(), 0);

  // The password never reached the database in clear.
  pqxx::connection db(db_->url());
  pqxx::read_transaction txn(db);
  auto hits = txn.exec1("SELECT count(*) FROM command_log WHERE request::text LIKE '%hunter2%'");
  EXPECT_EQ(hits[0].as<int>(), 0);

  EXPECT_EQ(HttpCall(stack_->http_port, "GET", "/chargers/cmd_log/commands?cursor=bogus").status,
            400);
  EXPECT_EQ(HttpCall(stack_->http_port, "GET", "/chargers/cmd_nobody/commands").status, 404);
}

// ---- the seed's commands in the command log --------------------------------------------------

// Remote start and stop, the power limit and the password rotation are commands like any other:
// each is in the command log, newest first, with who sent it, the exact request (the new
// password redacted), the charger's answer and a refusal as the result it is.
TEST_F(Commands, TheSeedsCommandsAreLoggedToo) {
  const std::string id = "cmd_seed_log";
  const std::string base = "/chargers/" + id;
  const std::string old_password = "Seed-log-old-pass:2026";
  const std::string new_password = "Seed-log-new-pass:2026";
  const std::string tx = "tx-seed-log-1";
  // Security profile 1 (HTTP Basic auth): a charger whose password can be rotated.
  auto provisioned = HttpCall(stack_->http_port, "POST", "/chargers",
                              json{{"charger_id", id},
                                   {"security_profile", 1},
                                   {"password", old_password},
                                   {"approved", true}}
                                  .dump());
  ASSERT_EQ(provisioned.status, 201) << provisioned.body;
  auto charger = BootedCharger(id, {{"Authorization", Basic(id, old_password)}});
  ASSERT_TRUE(charger->is_open());
  const json accepted = {{"status", "Accepted"}};
  auto accept = [&](const json& call) { return Result(call, accepted); };
  auto is_call = [](const json& call, const char* action) {
    return call.is_array() && call.size() == 4 && call[2] == action && call[3].is_object();
  };

  // Remote start: Accepted, then the TransactionEvent Started with the remoteStartId.
  json started;
  auto start = Command(
      *charger, "POST", base + "/start", R"({"id_token":"user_123","evse_id":1,"connector_id":1})",
      accept, [&](const json& call) {
        if (!is_call(call, "RequestStartTransaction")) return;
        started = charger->Call("TransactionEvent",
                                StandardTxEvent("Started", tx, 0, "2026-11-24T10:00:00Z", 1000,
                                                std::nullopt, call[3].value("remoteStartId", -1)));
      });
  ASSERT_TRUE(is_call(start.call, "RequestStartTransaction")) << start.call.dump();
  ASSERT_TRUE(start.call[3]["remoteStartId"].is_number_integer()) << start.call.dump();
  EXPECT_EQ(started[0], 3) << started.dump();
  ASSERT_EQ(start.http.status, 200) << start.http.body;
  EXPECT_EQ(start.http.Json()["transaction_id"], tx) << start.http.body;

  // Remote stop: Accepted, then the TransactionEvent Ended.
  json ended;
  auto stop = Command(*charger, "POST", base + "/stop", json{{"transaction_id", tx}}.dump(), accept,
                      [&](const json& call) {
                        if (!is_call(call, "RequestStopTransaction")) return;
                        ended = charger->Call(
                            "TransactionEvent",
                            StandardTxEvent("Ended", tx, 1, "2026-11-24T10:30:00Z", 5000));
                      });
  ASSERT_TRUE(is_call(stop.call, "RequestStopTransaction")) << stop.call.dump();
  EXPECT_EQ(stop.call[3], (json{{"transactionId", tx}}));
  EXPECT_EQ(ended[0], 3) << ended.dump();
  ASSERT_EQ(stop.http.status, 200) << stop.http.body;

  // A power limit the charger takes, and one it refuses (the seed's 409).
  auto power = Command(*charger, "PATCH", base + "/power", R"({"max_power_kw":11})", accept);
  ASSERT_TRUE(is_call(power.call, "SetChargingProfile")) << power.call.dump();
  EXPECT_EQ(power.http.status, 200) << power.http.body;
  const json rejected = {{"status", "Rejected"}, {"statusInfo", {{"reasonCode", "NoProfile"}}}};
  auto refused = Command(*charger, "PATCH", base + "/power", R"({"max_power_kw":3.5})",
                         [&](const json& call) { return Result(call, rejected); });
  ASSERT_TRUE(is_call(refused.call, "SetChargingProfile")) << refused.call.dump();
  EXPECT_EQ(refused.http.status, 409) << refused.http.body;

  // A new password: the charger gets it in clear, the log must not.
  const json password_answer = json::parse(R"({"setVariableResult":[{"attributeStatus":"Accepted",
      "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}}]})");
  auto rotated =
      Command(*charger, "POST", base + "/password", json{{"password", new_password}}.dump(),
              [&](const json& call) { return Result(call, password_answer); });
  ASSERT_TRUE(is_call(rotated.call, "SetVariables")) << rotated.call.dump();
  EXPECT_EQ(rotated.call[3]["setVariableData"][0]["attributeValue"], new_password);
  ASSERT_EQ(rotated.http.status, 200) << rotated.http.body;
  EXPECT_EQ(rotated.http.Json()["charger_status"], "Accepted") << rotated.http.body;

  auto log = HttpCall(stack_->http_port, "GET", base + "/commands?limit=50");
  ASSERT_EQ(log.status, 200) << log.body;
  EXPECT_EQ(log.body.find(new_password), std::string::npos) << "the password in the command log";
  const json commands = log.Json()["commands"];
  std::vector<std::string> actions;
  for (const auto& c : commands) actions.push_back(c.value("action", ""));
  ASSERT_EQ(actions,
            (std::vector<std::string>{"SetVariables", "SetChargingProfile", "SetChargingProfile",
                                      "RequestStopTransaction", "RequestStartTransaction"}))
      << log.body;

  json password_logged = rotated.call[3];
  password_logged["setVariableData"][0]["attributeValue"] = "<redacted>";
  // Newest first: the request exactly as the charger got it (but redacted), its answer.
  const std::pair<json, json> expected[] = {
      {password_logged, password_answer}, {refused.call[3], rejected}, {power.call[3], accepted},
      {stop.call[3], accepted},           {start.call[3], accepted},
  };
  for (size_t i = 0; i < actions.size(); ++i) {
    SCOPED_TRACE(std::to_string(i) + ": " + actions[i]);
    const json& c = commands[i];
    EXPECT_EQ(c["outcome"], "result");
    EXPECT_EQ(c["issued_by"], "anonymous");  // open mode in this stack
    EXPECT_EQ(c["request"], expected[i].first);
    EXPECT_EQ(c["response"], expected[i].second);
    EXPECT_TRUE(c["latency_ms"].is_number_integer() && c["latency_ms"].get<int>() >= 0) << c.dump();
  }
  // What each request must carry, spelled out.
  EXPECT_EQ(commands[4]["request"]["remoteStartId"], start.call[3]["remoteStartId"]);
  EXPECT_EQ(commands[4]["request"]["idToken"]["idToken"], "user_123");
  EXPECT_EQ(commands[3]["request"]["transactionId"], tx);
  const json& profile = commands[2]["request"]["chargingProfile"];
  EXPECT_EQ(profile["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"], 11000)
      << profile.dump();
  EXPECT_EQ(commands[1]["response"]["status"], "Rejected");
  EXPECT_EQ(commands[0]["request"]["setVariableData"][0]["attributeValue"], "<redacted>");
  EXPECT_EQ(commands[0]["request"]["setVariableData"][0]["variable"]["name"], "BasicAuthPassword");

  // Neither in the database.
  pqxx::connection db(db_->url());
  pqxx::read_transaction txn(db);
  auto hits = txn.exec1("SELECT count(*) FROM command_log WHERE request::text LIKE " +
                        txn.quote("%" + new_password + "%") + " OR response::text LIKE " +
                        txn.quote("%" + new_password + "%"));
  EXPECT_EQ(hits[0].as<int>(), 0);
}

}  // namespace
}  // namespace csms::testing
