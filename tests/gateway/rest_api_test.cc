#include "csms/gateway/rest_api.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace csms::gateway {
namespace {

using nlohmann::json;

class RestApiTest : public ::testing::Test {
 protected:
  RestApiTest() {
    // Nothing listens on port 1: any request that reaches gRPC fails as UNAVAILABLE.
    auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
    api_ = std::make_unique<RestApi>(channel, channel);
  }

  // For requests that must be answered without any gRPC call: the answer has to be there when
  // Handle returns.
  HttpResponse Sync(const std::string& method, const std::string& target,
                    const std::string& body = "") {
    std::optional<HttpResponse> response;
    int calls = 0;
    api_->Handle(HttpRequest{method, target, body}, [&](HttpResponse r) {
      ++calls;
      response = std::move(r);
    });
    EXPECT_EQ(calls, 1) << method << " " << target << " was not answered synchronously";
    return response.value_or(HttpResponse{0, "", ""});
  }

  // Expects the error shape {"status":"error","error":code,"message":"..."}.
  void ExpectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body.size(), 3u) << r.body;
    EXPECT_EQ(body.value("status", ""), "error") << r.body;
    EXPECT_EQ(body.value("error", ""), code) << r.body;
    ASSERT_TRUE(body.contains("message") && body["message"].is_string()) << r.body;
    EXPECT_FALSE(body["message"].get<std::string>().empty());
  }

  std::unique_ptr<RestApi> api_;
};

TEST_F(RestApiTest, HealthzIsOk) {
  HttpResponse r = Sync("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), (json{{"status", "ok"}}));
  EXPECT_EQ(r.content_type, "application/json");
}

TEST_F(RestApiTest, UnknownPathIs404) {
  ExpectError(Sync("GET", "/nope"), 404, "not_found");
  ExpectError(Sync("GET", "/assets/none.js"), 404, "not_found");
  ExpectError(Sync("POST", "/chargers/CS001/explode", "{}"), 404, "not_found");
  ExpectError(Sync("GET", "/chargers/CS001/start/now"), 404, "not_found");
  ExpectError(Sync("GET", "/stats/weekly"), 404, "not_found");
}

TEST_F(RestApiTest, RootServesTheDashboard) {
  HttpResponse page = Sync("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/assets/app.js"), std::string::npos);
}

TEST_F(RestApiTest, WrongMethodIs405) {
  ExpectError(Sync("GET", "/chargers/CS001/start"), 405, "method_not_allowed");
  ExpectError(Sync("PUT", "/chargers/CS001/stop", "{}"), 405, "method_not_allowed");
  ExpectError(Sync("POST", "/chargers/CS001/power", R"({"max_power_kw":50})"), 405,
              "method_not_allowed");
  // DELETE /chargers/{id} and POST /chargers are provisioning (docs/security.md).
  ExpectError(Sync("PATCH", "/chargers/CS001"), 405, "method_not_allowed");
  ExpectError(Sync("PUT", "/chargers"), 405, "method_not_allowed");
  ExpectError(Sync("DELETE", "/chargers/CS001/security"), 405, "method_not_allowed");
  ExpectError(Sync("POST", "/chargers", "[1]"), 400, "bad_request");
  ExpectError(Sync("POST", "/chargers", R"({"charger_id":"CS001","password":7})"), 400,
              "bad_request");
  ExpectError(Sync("POST", "/sessions/tx-1"), 405, "method_not_allowed");
  ExpectError(Sync("POST", "/stats/daily"), 405, "method_not_allowed");
  ExpectError(Sync("PATCH", "/chargers/CS001/sessions"), 405, "method_not_allowed");
}

TEST_F(RestApiTest, WrongMethodMessageNamesTheAllowedOne) {
  HttpResponse r = Sync("GET", "/chargers/CS001/power");
  json body = json::parse(r.body);
  EXPECT_NE(body["message"].get<std::string>().find("PATCH"), std::string::npos) << r.body;
}

// ---- start ---------------------------------------------------------------------------------

TEST_F(RestApiTest, StartWithNonJsonBodyIs400) {
  ExpectError(Sync("POST", "/chargers/CS001/start", "id_token=abc"), 400, "bad_request");
  ExpectError(Sync("POST", "/chargers/CS001/start", ""), 400, "bad_request");
}

TEST_F(RestApiTest, StartWithNonObjectBodyIs400) {
  ExpectError(Sync("POST", "/chargers/CS001/start", R"(["id_token"])"), 400, "bad_request");
  ExpectError(Sync("POST", "/chargers/CS001/start", R"("abc")"), 400, "bad_request");
}

TEST_F(RestApiTest, StartWithoutIdTokenIs400) {
  HttpResponse r = Sync("POST", "/chargers/CS001/start", R"({"evse_id":1})");
  ExpectError(r, 400, "bad_request");
  EXPECT_NE(r.body.find("id_token"), std::string::npos) << r.body;
}

TEST_F(RestApiTest, StartWithBadIdTokenIs400) {
  ExpectError(Sync("POST", "/chargers/CS001/start", R"({"id_token":""})"), 400, "bad_request");
  ExpectError(Sync("POST", "/chargers/CS001/start", R"({"id_token":12345})"), 400, "bad_request");
  ExpectError(
      Sync("POST", "/chargers/CS001/start", json{{"id_token", std::string(37, 't')}}.dump()), 400,
      "bad_request");
}

TEST_F(RestApiTest, StartWithStringEvseIdIs400) {
  HttpResponse r = Sync("POST", "/chargers/CS001/start", R"({"id_token":"T1","evse_id":"1"})");
  ExpectError(r, 400, "bad_request");
  EXPECT_NE(r.body.find("evse_id"), std::string::npos) << r.body;
}

TEST_F(RestApiTest, StartWithNonPositiveOrFractionalIdsIs400) {
  for (const char* body :
       {R"({"id_token":"T1","evse_id":0})", R"({"id_token":"T1","evse_id":-1})",
        R"({"id_token":"T1","evse_id":1.5})", R"({"id_token":"T1","connector_id":0})",
        R"({"id_token":"T1","connector_id":"2"})", R"({"id_token":"T1","evse_id":1e12})"}) {
    ExpectError(Sync("POST", "/chargers/CS001/start", body), 400, "bad_request");
  }
}

// ---- stop ----------------------------------------------------------------------------------

TEST_F(RestApiTest, StopWithoutTransactionIdIs400) {
  HttpResponse r = Sync("POST", "/chargers/CS001/stop", "{}");
  ExpectError(r, 400, "bad_request");
  EXPECT_NE(r.body.find("transaction_id"), std::string::npos) << r.body;
}

TEST_F(RestApiTest, StopWithBadTransactionIdIs400) {
  ExpectError(Sync("POST", "/chargers/CS001/stop", R"({"transaction_id":17})"), 400, "bad_request");
  ExpectError(Sync("POST", "/chargers/CS001/stop", R"({"transaction_id":""})"), 400, "bad_request");
  ExpectError(
      Sync("POST", "/chargers/CS001/stop", json{{"transaction_id", std::string(37, 'x')}}.dump()),
      400, "bad_request");
  ExpectError(Sync("POST", "/chargers/CS001/stop", "{broken"), 400, "bad_request");
}

// ---- power ---------------------------------------------------------------------------------

TEST_F(RestApiTest, PowerMustBeAPositiveNumber) {
  for (const char* body :
       {R"({"max_power_kw":0})", R"({"max_power_kw":-5})", R"({"max_power_kw":"50"})",
        R"({"max_power_kw":null})", R"({})", R"({"max_power_kw":true})", "not json"}) {
    ExpectError(Sync("PATCH", "/chargers/CS001/power", body), 400, "bad_request");
  }
}

// ---- a valid request against a dead backend ------------------------------------------------

// Sends a request expected to reach gRPC; waits at most 6 s for the answer.
std::optional<HttpResponse> AskDeadBackend(std::unique_ptr<RestApi>& api, HttpRequest request) {
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> future = promise->get_future();
  api->Handle(request, [promise](HttpResponse r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(6)) != std::future_status::ready) {
    api.release();  // a late gRPC completion must not find a destroyed RestApi
    return std::nullopt;
  }
  return future.get();
}

TEST_F(RestApiTest, GetChargerWithDeadBackendIs503) {
  auto r = AskDeadBackend(api_, HttpRequest{"GET", "/chargers/CS001", ""});
  ASSERT_TRUE(r.has_value()) << "no answer within 6 s";
  ExpectError(*r, 503, "unavailable");
}

TEST_F(RestApiTest, ValidStartWithDeadBackendIs503) {
  auto r = AskDeadBackend(api_, HttpRequest{"POST", "/chargers/CS001/start",
                                            R"({"id_token":"T1","evse_id":1,"connector_id":1})"});
  ASSERT_TRUE(r.has_value()) << "no answer within 6 s";
  ExpectError(*r, 503, "unavailable");
}

}  // namespace
}  // namespace csms::gateway
