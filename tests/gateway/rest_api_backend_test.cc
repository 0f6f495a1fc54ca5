// RestApi against an in-process fake ControlService: what reaches gRPC and how answers map.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace cv1 = control::v1;

// Records the last request of each kind; answers with `status` when it is not OK.
class FakeControl final : public cv1::ControlService::Service {
 public:
  grpc::Status StartTransaction(grpc::ServerContext*, const cv1::StartTransactionRequest* request,
                                cv1::StartTransactionResponse* response) override {
    std::lock_guard lock(mu);
    start = *request;
    if (!status.ok()) return status;
    response->set_charger_id(request->charger_id());
    response->set_transaction_id("tx-777");
    response->set_remote_start_id(5);
    return grpc::Status::OK;
  }
  grpc::Status StopTransaction(grpc::ServerContext*, const cv1::StopTransactionRequest* request,
                               cv1::StopTransactionResponse* response) override {
    std::lock_guard lock(mu);
    stop = *request;
    if (!status.ok()) return status;
    response->set_transaction_id(request->transaction_id());
    response->set_energy_consumed_kwh(25.5);
    response->set_cost(3825);
    response->set_currency("KRW");
    return grpc::Status::OK;
  }
  grpc::Status SetChargingLimit(grpc::ServerContext*, const cv1::SetChargingLimitRequest* request,
                                cv1::SetChargingLimitResponse* response) override {
    std::lock_guard lock(mu);
    limit = *request;
    if (!status.ok()) return status;
    response->set_charger_id(request->charger_id());
    response->set_current_power_kw(request->max_power_kw());
    return grpc::Status::OK;
  }
  grpc::Status GetCharger(grpc::ServerContext*, const cv1::GetChargerRequest* request,
                          cv1::Charger* response) override {
    std::lock_guard lock(mu);
    get = *request;
    if (!status.ok()) return status;
    response->set_charger_id(request->charger_id());
    response->set_status("Charging");
    response->set_current_power_kw(7.2);
    response->set_energy_accumulated_kwh(12.345);
    response->set_transaction_id("tx-777");
    response->set_connected(true);
    return grpc::Status::OK;
  }
  grpc::Status ListChargers(grpc::ServerContext*, const cv1::ListChargersRequest*,
                            cv1::ListChargersResponse* response) override {
    std::lock_guard lock(mu);
    if (!status.ok()) return status;
    auto* c = response->add_chargers();
    c->set_charger_id("CS001");
    c->set_status("Offline");
    return grpc::Status::OK;
  }

  // Two pages: the first (no cursor) is `first_page` and says "page-2" comes next; the
  // second is empty and the last.
  grpc::Status ListChargerEvents(grpc::ServerContext*, const cv1::ListChargerEventsRequest* request,
                                 cv1::ListChargerEventsResponse* response) override {
    std::lock_guard lock(mu);
    events.push_back(*request);
    if (!events_status.ok()) return events_status;
    if (request->cursor().empty()) {
      *response = first_page;
      response->set_next_cursor("page-2");
    }
    return grpc::Status::OK;
  }

  std::mutex mu;
  grpc::Status status = grpc::Status::OK;
  grpc::Status events_status = grpc::Status::OK;
  cv1::ListChargerEventsResponse first_page;
  std::vector<cv1::ListChargerEventsRequest> events;
  cv1::StartTransactionRequest start;
  cv1::StopTransactionRequest stop;
  cv1::SetChargingLimitRequest limit;
  cv1::GetChargerRequest get;
};

class RestApiBackendTest : public ::testing::Test {
 protected:
  // One fake server and one RestApi for the suite, as in the gateway, where both live for the
  // whole process.
  static void SetUpTestSuite() {
    control_ = new FakeControl();
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(control_);
    server_ = builder.BuildAndStart().release();
    auto control = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    auto billing = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
    api_ = new RestApi(control, billing);
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    std::lock_guard lock(control_->mu);
    control_->status = grpc::Status::OK;
    control_->events_status = grpc::Status::OK;
    control_->first_page.Clear();
    control_->events.clear();
  }

  // The ListChargerEvents requests control got so far.
  std::vector<cv1::ListChargerEventsRequest> EventRequests() {
    std::lock_guard lock(control_->mu);
    return control_->events;
  }

  HttpResponse Ask(const std::string& method, const std::string& target,
                   const std::string& body = "") {
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    auto future = promise->get_future();
    api_->Handle(HttpRequest{method, target, body},
                 [promise](HttpResponse r) { promise->set_value(std::move(r)); });
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ADD_FAILURE() << method << " " << target << ": no answer within 5 s";
      return HttpResponse{0, "", ""};
    }
    return future.get();
  }

  void FailWith(grpc::StatusCode code) {
    std::lock_guard lock(control_->mu);
    control_->status = grpc::Status(code, "from fake control");
  }

  static void ExpectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body.size(), 3u) << r.body;
    EXPECT_EQ(body.value("status", ""), "error");
    EXPECT_EQ(body.value("error", ""), code);
    EXPECT_TRUE(body.contains("message") && body["message"].is_string());
  }

  // Never freed: in-flight completions may outlive the suite (as in the gateway).
  static FakeControl* control_;
  static grpc::Server* server_;
  static RestApi* api_;
};

FakeControl* RestApiBackendTest::control_ = nullptr;
grpc::Server* RestApiBackendTest::server_ = nullptr;
RestApi* RestApiBackendTest::api_ = nullptr;

TEST_F(RestApiBackendTest, StartPassesFieldsAndAnswersLikeTheSeed) {
  HttpResponse r = Ask("POST", "/chargers/CS001/start",
                       R"({"id_token":"user_token","evse_id":2,"connector_id":3})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body),
            (json{{"status", "success"}, {"transaction_id", "tx-777"}, {"charger_id", "CS001"}}));
  std::lock_guard lock(control_->mu);
  EXPECT_EQ(control_->start.charger_id(), "CS001");
  EXPECT_EQ(control_->start.id_token(), "user_token");
  EXPECT_EQ(control_->start.evse_id(), 2);
  EXPECT_EQ(control_->start.connector_id(), 3);
}

TEST_F(RestApiBackendTest, StartDefaultsEvseAndConnectorToOne) {
  HttpResponse r = Ask("POST", "/chargers/CS001/start", R"({"id_token":"T"})");
  EXPECT_EQ(r.status, 200) << r.body;
  std::lock_guard lock(control_->mu);
  EXPECT_EQ(control_->start.evse_id(), 1);
  EXPECT_EQ(control_->start.connector_id(), 1);
}

TEST_F(RestApiBackendTest, StopAnswersEnergyAndWholeCost) {
  HttpResponse r = Ask("POST", "/chargers/CS001/stop", R"({"transaction_id":"tx-777"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"cost":3825,"energy_consumed":25.5,"status":"success"})");
  std::lock_guard lock(control_->mu);
  EXPECT_EQ(control_->stop.charger_id(), "CS001");
  EXPECT_EQ(control_->stop.transaction_id(), "tx-777");
}

TEST_F(RestApiBackendTest, PowerPassesLimit) {
  HttpResponse r = Ask("PATCH", "/chargers/CS001/power", R"({"max_power_kw":50})");
  EXPECT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["status"], "success");
  EXPECT_DOUBLE_EQ(body["current_power"].get<double>(), 50.0);
  std::lock_guard lock(control_->mu);
  EXPECT_DOUBLE_EQ(control_->limit.max_power_kw(), 50.0);
}

TEST_F(RestApiBackendTest, GetChargerHasTheSeedFields) {
  HttpResponse r = Ask("GET", "/chargers/CS001");
  EXPECT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  const json seed{{"charger_id", "CS001"},      {"status", "Charging"},
                  {"current_power", 7.2},       {"energy_accumulated", 12.345},
                  {"transaction_id", "tx-777"}, {"connected", true}};
  for (const auto& [key, value] : seed.items()) EXPECT_EQ(body[key], value) << key;
  // The seed's fields, then what the charger said at boot and its provisioning (null here).
  for (const char* key : {"vendor", "model", "serial_number", "firmware_version",
                          "registration_status", "last_seen", "station_id", "security_profile"}) {
    EXPECT_TRUE(body.contains(key)) << key;
  }
  EXPECT_EQ(body["evses"], json::array());  // the fake reports none
  EXPECT_EQ(body.size(), seed.size() + 9) << body.dump();
}

TEST_F(RestApiBackendTest, ListChargersShowsNullTransactionId) {
  HttpResponse r = Ask("GET", "/chargers");
  EXPECT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  ASSERT_EQ(body["chargers"].size(), 1u);
  EXPECT_TRUE(body["chargers"][0]["transaction_id"].is_null());
  EXPECT_EQ(body["chargers"][0]["connected"], false);
}

TEST_F(RestApiBackendTest, PercentEncodedChargerIdIsDecoded) {
  Ask("GET", "/chargers/CS%2D001");
  std::lock_guard lock(control_->mu);
  EXPECT_EQ(control_->get.charger_id(), "CS-001");
}

// Regression: '+' is literal in a URL path and allowed in station ids; only queries decode it.
TEST_F(RestApiBackendTest, PlusInChargerIdIsLiteral) {
  Ask("GET", "/chargers/CS+1");
  std::lock_guard lock(control_->mu);
  EXPECT_EQ(control_->get.charger_id(), "CS+1");
}

TEST_F(RestApiBackendTest, GrpcErrorsMapToHttp) {
  struct Case {
    grpc::StatusCode code;
    int http;
    const char* error;
  };
  for (const Case& c : {Case{grpc::StatusCode::NOT_FOUND, 404, "not_found"},
                        Case{grpc::StatusCode::INVALID_ARGUMENT, 400, "bad_request"},
                        Case{grpc::StatusCode::FAILED_PRECONDITION, 409, "conflict"},
                        Case{grpc::StatusCode::ABORTED, 409, "conflict"},
                        Case{grpc::StatusCode::DEADLINE_EXCEEDED, 504, "timeout"},
                        Case{grpc::StatusCode::UNAVAILABLE, 503, "unavailable"},
                        Case{grpc::StatusCode::INTERNAL, 500, "internal"}}) {
    FailWith(c.code);
    SCOPED_TRACE(c.error);
    ExpectError(Ask("POST", "/chargers/CS001/stop", R"({"transaction_id":"tx-1"})"), c.http,
                c.error);
  }
}

// ---- GET /chargers/{id}/events -----------------------------------------------------------

TEST_F(RestApiBackendTest, EventsPassEveryParameterToControl) {
  HttpResponse r = Ask("GET",
                       "/chargers/CS001/events?kind=NotifyEvent,MeterValues&type=EVSE.Temperature"
                       "&kind=SecurityEventNotification&since=2026-11-24T18:00:00%2B09:00&limit=2"
                       "&cursor=abc");
  EXPECT_EQ(r.status, 200) << r.body;
  auto requests = EventRequests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& q = requests[0];
  EXPECT_EQ(q.charger_id(), "CS001");
  EXPECT_EQ(std::vector<std::string>(q.kinds().begin(), q.kinds().end()),
            (std::vector<std::string>{"NotifyEvent", "MeterValues", "SecurityEventNotification"}));
  EXPECT_EQ(q.type(), "EVSE.Temperature");
  ASSERT_TRUE(q.has_since());
  EXPECT_EQ(FormatRfc3339(FromProto(q.since())), "2026-11-24T09:00:00Z");
  EXPECT_EQ(q.limit(), 2);
  EXPECT_EQ(q.cursor(), "abc");
}

TEST_F(RestApiBackendTest, EventsWithoutParametersAskForEverything) {
  EXPECT_EQ(Ask("GET", "/chargers/CS%2D001/events").status, 200);
  auto requests = EventRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].charger_id(), "CS-001");
  EXPECT_EQ(requests[0].kinds_size(), 0);
  EXPECT_EQ(requests[0].type(), "");
  EXPECT_FALSE(requests[0].has_since());
  EXPECT_EQ(requests[0].limit(), 0) << "control's default page size";
  EXPECT_EQ(requests[0].cursor(), "");
}

// The '+' of an offset that curl users forget to encode arrives as a space; it still means '+'.
TEST_F(RestApiBackendTest, EventsSinceWithAnUnencodedPlus) {
  EXPECT_EQ(Ask("GET", "/chargers/CS001/events?since=2026-11-24T18:00:00+09:00").status, 200);
  auto requests = EventRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(FormatRfc3339(FromProto(requests[0].since())), "2026-11-24T09:00:00Z");
}

TEST_F(RestApiBackendTest, EventsRefuseABadSinceOrLimitWithoutAskingControl) {
  for (const char* query : {"since=yesterday", "since=2026-11-24", "since=2026-11-24T09:00:00",
                            "since=2026-13-40T09:00:00Z", "since=2026-11-24T09:00:00Z&limit=0",
                            "limit=-1", "limit=ten"}) {
    SCOPED_TRACE(query);
    HttpResponse r = Ask("GET", std::string("/chargers/CS001/events?") + query);
    ExpectError(r, 400, "bad_request");
  }
  EXPECT_TRUE(EventRequests().empty());
  ExpectError(Ask("GET", "/chargers/CS001/events?since=soon"), 400, "bad_request");
  EXPECT_NE(Ask("GET", "/chargers/CS001/events?since=soon").body.find("since"), std::string::npos)
      << "the message names the parameter";
}

TEST_F(RestApiBackendTest, EventsAnswerTheirJsonShape) {
  {
    std::lock_guard lock(control_->mu);
    auto* full = control_->first_page.add_events();
    full->set_id(42);
    full->set_charger_id("CS001");
    full->set_kind("NotifyEvent");
    full->set_type("EVSE.Temperature");
    *full->mutable_received_at() = ToProto(*ParseRfc3339("2026-11-24T09:15:00.250Z"));
    *full->mutable_occurred_at() = ToProto(*ParseRfc3339("2026-11-24T09:14:59Z"));
    full->set_connection_id("c-1");
    full->set_evse_id(2);
    full->set_connector_id(1);
    full->set_request_id(0);  // set, even if 0
    full->set_payload_json(R"({"eventId":2,"actualValue":"93"})");
    auto* bare = control_->first_page.add_events();
    bare->set_id(41);
    bare->set_charger_id("CS001");
    bare->set_kind("CsmsSecurityEvent");
    bare->set_type("InvalidChargingStationPassword");
    *bare->mutable_received_at() = ToProto(*ParseRfc3339("2026-11-24T09:00:00Z"));
    bare->set_client_address("192.0.2.7");
    bare->set_payload_json(R"({"reason":"bad password","count":3})");
  }
  HttpResponse r = Ask("GET", "/chargers/CS001/events");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({
    "events": [
      {"id": 42, "kind": "NotifyEvent", "type": "EVSE.Temperature",
       "received_at": "2026-11-24T09:15:00.250Z", "occurred_at": "2026-11-24T09:14:59.000Z",
       "evse_id": 2, "connector_id": 1, "request_id": 0, "client_address": null,
       "payload": {"eventId": 2, "actualValue": "93"}},
      {"id": 41, "kind": "CsmsSecurityEvent", "type": "InvalidChargingStationPassword",
       "received_at": "2026-11-24T09:00:00.000Z", "occurred_at": null,
       "evse_id": null, "connector_id": null, "request_id": null,
       "client_address": "192.0.2.7", "payload": {"reason": "bad password", "count": 3}}
    ],
    "next_cursor": "page-2"})"));
}

TEST_F(RestApiBackendTest, EventsPageWithTheCursorUntilNull) {
  {
    std::lock_guard lock(control_->mu);
    control_->first_page.add_events()->set_id(1);
  }
  json page1 = json::parse(Ask("GET", "/chargers/CS001/events?limit=1").body);
  ASSERT_EQ(page1["next_cursor"], "page-2");
  EXPECT_EQ(page1["events"].size(), 1u);
  HttpResponse r = Ask(
      "GET", "/chargers/CS001/events?limit=1&cursor=" + page1["next_cursor"].get<std::string>());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"events":[],"next_cursor":null})"));
  auto requests = EventRequests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].cursor(), "page-2");
  EXPECT_EQ(requests[1].limit(), 1);
}

TEST_F(RestApiBackendTest, EventsErrorsAreTheCommandRoutes) {
  struct Case {
    grpc::Status status;
    int http;
    const char* error;
  };
  const Case cases[] = {
      // As control's command API reports them (the REST code in the details).
      {grpc::Status(grpc::StatusCode::NOT_FOUND, "no charger CS001",
                    R"({"error":"unknown_charger"})"),
       404, "unknown_charger"},
      {grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad cursor", R"({"error":"bad_request"})"),
       400, "bad_request"},
      // Without details the code still says what it is.
      {grpc::Status(grpc::StatusCode::NOT_FOUND, "no charger CS001"), 404, "unknown_charger"},
      {grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad cursor"), 400, "bad_request"},
      {grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), 503, "unavailable"},
      {grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no"), 403, "forbidden"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error);
    {
      std::lock_guard lock(control_->mu);
      control_->events_status = c.status;
    }
    ExpectError(Ask("GET", "/chargers/CS001/events?cursor=x"), c.http, c.error);
  }
  ExpectError(Ask("POST", "/chargers/CS001/events", "{}"), 405, "method_not_allowed");
}

}  // namespace
}  // namespace csms::gateway
