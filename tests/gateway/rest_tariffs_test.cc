// Tariffs' REST side: the PUT body (types checked here, naming the field), and the routes
// through RestApi against an in-process fake BillingService (and control, for stations): what
// reaches gRPC, the JSON answered, how billing's errors map, the admin role for writes, and the
// session's tariff fields.
#include "csms/gateway/rest_tariffs.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "csms/common/api_auth.h"
#include "csms/common/time_util.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
namespace bv1 = billing::v1;
namespace cv1 = control::v1;

// ---- the PUT body ----------------------------------------------------------------------------

TEST(TariffBody, CaseTable) {
  struct Case {
    const char* body;
    const char* message_part;  // "": parses
  };
  const Case cases[] = {
      {"{}", ""},
      {R"({"valid_from":null,"min_price":null,"max_price":null,"periods":null,"currency":null})",
       ""},
      {R"({"tariff_id":"T1","version":3,"created_at":"2026-01-01T00:00:00.000Z"})", ""},
      {R"({"colour":"red"})", "unknown field 'colour'"},
      {R"({"energy_price_per_kwh":"0.35"})", "energy_price_per_kwh must be a number"},
      {R"({"charging_price_per_minute":true})", "charging_price_per_minute must be a number"},
      {R"({"idle_price_per_minute":[1]})", "idle_price_per_minute must be a number"},
      {R"({"session_fee":{}})", "session_fee must be a number"},
      {R"({"tax_rate_percent":"10"})", "tax_rate_percent must be a number"},
      {R"({"min_price":"1"})", "min_price must be a number"},
      {R"({"max_price":false})", "max_price must be a number"},
      {R"({"idle_grace_minutes":1.5})", "idle_grace_minutes must be an integer"},
      {R"({"idle_grace_minutes":99999999999})", "idle_grace_minutes must be an integer"},
      {R"({"prices_exclude_tax":"yes"})", "prices_exclude_tax must be true, false or null"},
      {R"({"currency":978})", "currency must be a string"},
      {R"({"time_zone":1})", "time_zone must be a string"},
      {R"({"display_text":["hi"]})", "display_text must be a string"},
      {R"({"valid_from":"tomorrow"})", "valid_from must be an RFC 3339 time"},
      {R"({"valid_from":1767225600})", "valid_from must be an RFC 3339 time"},
      {R"({"tariff_id":"other"})", "tariff_id in the body differs from the path"},
      {R"({"tariff_id":7})", "tariff_id must be a string"},
      {R"({"version":"3"})", "version must be an integer"},
      {R"({"periods":{}})", "periods must be an array"},
      {R"({"periods":[1]})", "periods[0] must be an object"},
      {R"({"periods":[{},{"start":"08:00"}]})", "periods[1] has an unknown field 'start'"},
      {R"({"periods":[{"weekdays":"1-5"}]})", "periods[0].weekdays must be an array"},
      {R"({"periods":[{"weekdays":[1,"2"]}]})", "periods[0].weekdays[1] must be an integer"},
      {R"({"periods":[{"weekdays":[null]}]})", "periods[0].weekdays[0] must be an integer"},
      {R"({"periods":[{"start_time":800}]})", "periods[0].start_time must be a string"},
      {R"({"periods":[{"end_time":false}]})", "periods[0].end_time must be a string"},
      {R"({"periods":[{"energy_price_per_kwh":"x"}]})",
       "periods[0].energy_price_per_kwh must be a number"},
      {R"({"periods":[{"charging_price_per_minute":"x"}]})",
       "periods[0].charging_price_per_minute must be a number"},
      {"", "JSON object"},
      {"[]", "JSON object"},
      {"{", "JSON object"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseTariffBody("T1", c.body);
    if (c.message_part[0] == '\0') {
      EXPECT_TRUE(std::holds_alternative<bv1::Tariff>(parsed)) << c.body;
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<RestError>(parsed)) << c.body;
    const auto& e = std::get<RestError>(parsed);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.code, "bad_request") << c.body;
    EXPECT_NE(e.message.find(c.message_part), std::string::npos) << c.body << ": " << e.message;
  }
}

TEST(TariffBody, EveryFieldReachesTheProto) {
  auto parsed = ParseTariffBody("peak-2026", R"({
    "valid_from": "2026-03-01T00:00:00+09:00", "currency": "KRW", "time_zone": "Asia/Seoul",
    "energy_price_per_kwh": 0.35, "charging_price_per_minute": 0.05,
    "idle_price_per_minute": 0.4, "idle_grace_minutes": 15, "session_fee": 1,
    "tax_rate_percent": 10, "prices_exclude_tax": true, "min_price": 0, "max_price": null,
    "periods": [{"weekdays": [1, 2, 3, 4, 5], "start_time": "08:00", "end_time": "20:00",
                 "energy_price_per_kwh": 0.5, "charging_price_per_minute": null},
                {"start_time": "22:00", "end_time": "06:00", "charging_price_per_minute": 0}],
    "display_text": "0.35/kWh"})");
  ASSERT_TRUE(std::holds_alternative<bv1::Tariff>(parsed)) << std::get<RestError>(parsed).message;
  const auto& t = std::get<bv1::Tariff>(parsed);
  EXPECT_EQ(t.tariff_id(), "peak-2026");  // from the path
  EXPECT_EQ(FormatRfc3339(FromProto(t.valid_from())), "2026-02-28T15:00:00Z");
  EXPECT_EQ(t.currency(), "KRW");
  EXPECT_EQ(t.time_zone(), "Asia/Seoul");
  EXPECT_DOUBLE_EQ(t.energy_price_per_kwh(), 0.35);
  EXPECT_DOUBLE_EQ(t.charging_price_per_minute(), 0.05);
  EXPECT_DOUBLE_EQ(t.idle_price_per_minute(), 0.4);
  EXPECT_EQ(t.idle_grace_minutes(), 15);
  EXPECT_DOUBLE_EQ(t.session_fee(), 1);
  EXPECT_DOUBLE_EQ(t.tax_rate_percent(), 10);
  EXPECT_TRUE(t.prices_exclude_tax());
  EXPECT_TRUE(t.has_min_price()) << "0 is a bound";
  EXPECT_DOUBLE_EQ(t.min_price(), 0);
  EXPECT_FALSE(t.has_max_price()) << "null is no bound";
  ASSERT_EQ(t.periods_size(), 2);
  EXPECT_EQ(std::vector<int32_t>(t.periods(0).weekdays().begin(), t.periods(0).weekdays().end()),
            (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(t.periods(0).start_time(), "08:00");
  EXPECT_EQ(t.periods(0).end_time(), "20:00");
  EXPECT_TRUE(t.periods(0).has_energy_price_per_kwh());
  EXPECT_FALSE(t.periods(0).has_charging_price_per_minute());
  EXPECT_EQ(t.periods(1).weekdays_size(), 0);
  EXPECT_FALSE(t.periods(1).has_energy_price_per_kwh());
  EXPECT_TRUE(t.periods(1).has_charging_price_per_minute()) << "0 is a price (free)";
  EXPECT_EQ(t.display_text(), "0.35/kWh");
  EXPECT_EQ(t.version(), 0);
  EXPECT_FALSE(t.has_created_at());
}

// ---- the routes against fake services ---------------------------------------------------------

bv1::Tariff StoredTariff(const std::string& id, int version) {
  bv1::Tariff t;
  t.set_tariff_id(id);
  t.set_version(version);
  *t.mutable_valid_from() = ToProto(*ParseRfc3339("2026-03-01T00:00:00Z"));
  t.set_currency("KRW");
  t.set_time_zone("Asia/Seoul");
  t.set_energy_price_per_kwh(150);
  t.set_idle_price_per_minute(100);
  t.set_idle_grace_minutes(10);
  t.set_tax_rate_percent(10);
  t.set_max_price(50000);
  auto* p = t.add_periods();
  p->add_weekdays(6);
  p->add_weekdays(7);
  p->set_start_time("00:00");
  p->set_end_time("24:00");
  p->set_energy_price_per_kwh(120.5);
  t.set_display_text("150 KRW/kWh");
  *t.mutable_created_at() = ToProto(*ParseRfc3339("2026-02-20T10:00:00.250Z"));
  return t;
}

// Records the last request of each kind and the caller's metadata; answers `status` when it is
// not OK.
class FakeBilling final : public bv1::BillingService::Service {
 public:
  grpc::Status PutTariff(grpc::ServerContext* context, const bv1::PutTariffRequest* request,
                         bv1::Tariff* response) override {
    std::lock_guard lock(mu);
    ++calls;
    put = *request;
    Remember(*context);
    if (!status.ok()) return status;
    *response = request->tariff();
    response->set_version(4);
    *response->mutable_created_at() = ToProto(*ParseRfc3339("2026-02-20T10:00:00Z"));
    return grpc::Status::OK;
  }
  grpc::Status GetTariff(grpc::ServerContext* context, const bv1::GetTariffRequest* request,
                         bv1::Tariff* response) override {
    std::lock_guard lock(mu);
    ++calls;
    get = *request;
    Remember(*context);
    if (!status.ok()) return status;
    *response = StoredTariff(request->tariff_id(), request->version() ? request->version() : 2);
    return grpc::Status::OK;
  }
  grpc::Status ListTariffs(grpc::ServerContext* context, const bv1::ListTariffsRequest* request,
                           bv1::ListTariffsResponse* response) override {
    std::lock_guard lock(mu);
    ++calls;
    list = *request;
    Remember(*context);
    if (!status.ok()) return status;
    *response->add_tariffs() = StoredTariff("default", 1);
    *response->add_tariffs() = StoredTariff("weekend", 2);
    return grpc::Status::OK;
  }
  grpc::Status SetStationTariff(grpc::ServerContext* context,
                                const bv1::SetStationTariffRequest* request,
                                bv1::StationTariff* response) override {
    std::lock_guard lock(mu);
    ++calls;
    set_station = *request;
    Remember(*context);
    if (!status.ok()) return status;
    response->set_station_id(request->station_id());
    response->set_tariff_id(request->tariff_id());
    *response->mutable_updated_at() = ToProto(*ParseRfc3339("2026-02-21T00:00:00Z"));
    return grpc::Status::OK;
  }
  grpc::Status GetStationTariff(grpc::ServerContext* context,
                                const bv1::GetStationTariffRequest* request,
                                bv1::StationTariff* response) override {
    std::lock_guard lock(mu);
    ++calls;
    Remember(*context);
    if (!status.ok()) return status;
    response->set_station_id(request->station_id());  // never set: uses "default"
    return grpc::Status::OK;
  }
  grpc::Status GetSession(grpc::ServerContext*, const bv1::GetSessionRequest* request,
                          bv1::Session* response) override {
    std::lock_guard lock(mu);
    if (!status.ok()) return status;
    *response = session;
    response->set_transaction_id(request->transaction_id());
    return grpc::Status::OK;
  }

  void Remember(const grpc::ServerContext& context) {
    on_behalf_key.clear();
    const auto& metadata = context.client_metadata();
    if (auto it = metadata.find(auth::kOnBehalfKeyMetadata); it != metadata.end()) {
      on_behalf_key.assign(it->second.data(), it->second.size());
    }
  }

  std::mutex mu;
  grpc::Status status = grpc::Status::OK;
  int calls = 0;
  bv1::PutTariffRequest put;
  bv1::GetTariffRequest get;
  bv1::ListTariffsRequest list;
  bv1::SetStationTariffRequest set_station;
  bv1::Session session;
  std::string on_behalf_key;
};

// Knows one station, "site-a".
class FakeControl final : public cv1::ControlService::Service {
 public:
  grpc::Status GetStation(grpc::ServerContext*, const cv1::GetStationRequest* request,
                          cv1::Station* response) override {
    std::lock_guard lock(mu);
    ++lookups;
    if (request->station_id() != "site-a") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no station " + request->station_id());
    }
    response->set_station_id("site-a");
    return grpc::Status::OK;
  }
  std::mutex mu;
  int lookups = 0;
};

class RestTariffsTest : public ::testing::Test {
 protected:
  // One server and one RestApi for the suite, as in the gateway, where both live for the whole
  // process.
  static void SetUpTestSuite() {
    billing_ = new FakeBilling();
    control_ = new FakeControl();
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(billing_);
    builder.RegisterService(control_);
    server_ = builder.BuildAndStart().release();
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    api_ = new RestApi(channel, channel);
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    std::lock_guard lock(billing_->mu);
    billing_->status = grpc::Status::OK;
    billing_->calls = 0;
    billing_->put.Clear();
    billing_->get.Clear();
    billing_->list.Clear();
    billing_->set_station.Clear();
    billing_->session.Clear();
    billing_->on_behalf_key.clear();
  }

  // `role` "": open mode (no API keys), as the HTTP front leaves it.
  HttpResponse Ask(const std::string& method, const std::string& target,
                   const std::string& body = "", const std::string& role = "admin") {
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    auto future = promise->get_future();
    api_->Handle(HttpRequest{method, target, body, role.empty() ? "" : "key-" + role, role},
                 [promise](HttpResponse r) { promise->set_value(std::move(r)); });
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ADD_FAILURE() << method << " " << target << ": no answer within 5 s";
      return HttpResponse{0, "", ""};
    }
    return future.get();
  }

  void FailWith(grpc::StatusCode code, const std::string& message) {
    std::lock_guard lock(billing_->mu);
    billing_->status = grpc::Status(code, message);
  }

  int BillingCalls() {
    std::lock_guard lock(billing_->mu);
    return billing_->calls;
  }

  static json ExpectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    json body = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(body.is_object()) << r.body;
    if (!body.is_object()) return json();
    EXPECT_EQ(body.size(), 3u) << r.body;
    EXPECT_EQ(body.value("status", ""), "error");
    EXPECT_EQ(body.value("error", ""), code);
    return body;
  }

  // Never freed: in-flight completions may outlive the suite (as in the gateway).
  static FakeBilling* billing_;
  static FakeControl* control_;
  static grpc::Server* server_;
  static RestApi* api_;
};

FakeBilling* RestTariffsTest::billing_ = nullptr;
FakeControl* RestTariffsTest::control_ = nullptr;
grpc::Server* RestTariffsTest::server_ = nullptr;
RestApi* RestTariffsTest::api_ = nullptr;

const json kStoredTariffJson = json::parse(R"({
  "tariff_id": "weekend", "version": 2, "valid_from": "2026-03-01T00:00:00.000Z",
  "currency": "KRW", "time_zone": "Asia/Seoul", "energy_price_per_kwh": 150.0,
  "charging_price_per_minute": 0.0, "idle_price_per_minute": 100.0, "idle_grace_minutes": 10,
  "session_fee": 0.0, "tax_rate_percent": 10.0, "prices_exclude_tax": false,
  "min_price": null, "max_price": 50000.0,
  "periods": [{"weekdays": [6, 7], "start_time": "00:00", "end_time": "24:00",
               "energy_price_per_kwh": 120.5, "charging_price_per_minute": null}],
  "display_text": "150 KRW/kWh", "created_at": "2026-02-20T10:00:00.250Z"})");

TEST_F(RestTariffsTest, PutStoresANewVersionAndAnswers201) {
  HttpResponse r =
      Ask("PUT", "/tariffs/weekend",
          R"({"currency":"KRW","energy_price_per_kwh":150,"min_price":1000,)"
          R"("periods":[{"weekdays":[6,7],"start_time":"00:00","end_time":"24:00"}]})");
  ASSERT_EQ(r.status, 201) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["status"], "success");
  const json& t = body["tariff"];
  EXPECT_EQ(t["tariff_id"], "weekend");
  EXPECT_EQ(t["version"], 4);
  EXPECT_EQ(t["created_at"], "2026-02-20T10:00:00.000Z");
  EXPECT_EQ(t["min_price"], 1000.0);
  EXPECT_TRUE(t["max_price"].is_null());
  EXPECT_TRUE(t["valid_from"].is_null());
  EXPECT_TRUE(t["periods"][0]["energy_price_per_kwh"].is_null());
  EXPECT_EQ(t.size(), kStoredTariffJson.size()) << t.dump();
  std::lock_guard lock(billing_->mu);
  EXPECT_EQ(billing_->put.tariff().tariff_id(), "weekend");
  EXPECT_EQ(billing_->put.tariff().currency(), "KRW");
  EXPECT_EQ(billing_->put.tariff().periods_size(), 1);
  EXPECT_EQ(billing_->on_behalf_key, "key-admin") << "billing is told who asked";
}

TEST_F(RestTariffsTest, PutRefusesABadBodyNamingTheFieldWithoutAskingBilling) {
  json body = ExpectError(Ask("PUT", "/tariffs/weekend", R"({"energy_price_per_kwh":"150"})"), 400,
                          "bad_request");
  EXPECT_NE(body.value("message", "").find("energy_price_per_kwh"), std::string::npos) << body;
  body = ExpectError(Ask("PUT", "/tariffs/weekend", R"({"price":150})"), 400, "bad_request");
  EXPECT_NE(body.value("message", "").find("'price'"), std::string::npos) << body;
  EXPECT_EQ(BillingCalls(), 0);
}

TEST_F(RestTariffsTest, BillingErrorsMapToHttp) {
  FailWith(grpc::StatusCode::INVALID_ARGUMENT, "periods[0].start_time must be HH:MM");
  json body = ExpectError(Ask("PUT", "/tariffs/weekend", "{}"), 400, "bad_request");
  EXPECT_EQ(body.value("message", ""), "periods[0].start_time must be HH:MM");
  FailWith(grpc::StatusCode::NOT_FOUND, "no tariff nope");
  ExpectError(Ask("GET", "/tariffs/nope"), 404, "not_found");
  ExpectError(Ask("GET", "/tariffs/nope?version=9"), 404, "not_found");
  ExpectError(Ask("PUT", "/stations/site-a/tariff", R"({"tariff_id":"nope"})"), 404, "not_found");
  FailWith(grpc::StatusCode::UNAVAILABLE, "billing down");
  ExpectError(Ask("GET", "/tariffs"), 503, "unavailable");
  ExpectError(Ask("PUT", "/tariffs/weekend", "{}"), 503, "unavailable");
  FailWith(grpc::StatusCode::ABORTED, "a concurrent version");
  ExpectError(Ask("PUT", "/tariffs/weekend", "{}"), 409, "conflict");
}

TEST_F(RestTariffsTest, GetAndListAskBillingForTheRightVersions) {
  HttpResponse r = Ask("GET", "/tariffs/weekend", "", "read");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), (json{{"tariff", kStoredTariffJson}}));
  {
    std::lock_guard lock(billing_->mu);
    EXPECT_EQ(billing_->get.tariff_id(), "weekend");
    EXPECT_EQ(billing_->get.version(), 0) << "the newest";
  }
  r = Ask("GET", "/tariffs/weekend?version=7", "", "read");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["tariff"]["version"], 7);
  for (const char* bad : {"0", "-1", "two", "1.5", "99999999999"}) {
    SCOPED_TRACE(bad);
    json body = ExpectError(Ask("GET", std::string("/tariffs/weekend?version=") + bad, "", "read"),
                            400, "bad_request");
    EXPECT_NE(body.value("message", "").find("version"), std::string::npos);
  }

  r = Ask("GET", "/tariffs", "", "read");
  ASSERT_EQ(r.status, 200) << r.body;
  json list = json::parse(r.body);
  ASSERT_EQ(list["tariffs"].size(), 2u);
  EXPECT_EQ(list["tariffs"][1], kStoredTariffJson);
  EXPECT_TRUE(list.contains("next_cursor") && list["next_cursor"].is_null());
  {
    std::lock_guard lock(billing_->mu);
    EXPECT_EQ(billing_->list.tariff_id(), "") << "the newest of every tariff";
  }
  ASSERT_EQ(Ask("GET", "/tariffs/weekend/versions", "", "read").status, 200);
  {
    std::lock_guard lock(billing_->mu);
    EXPECT_EQ(billing_->list.tariff_id(), "weekend") << "every version of one";
  }
  ExpectError(Ask("DELETE", "/tariffs/weekend"), 405, "method_not_allowed");
  ExpectError(Ask("POST", "/tariffs", "{}"), 405, "method_not_allowed");
  ExpectError(Ask("PUT", "/tariffs/weekend/versions", "{}"), 405, "method_not_allowed");
}

TEST_F(RestTariffsTest, WritesNeedAdminReadsNeedRead) {
  struct Case {
    const char* method;
    const char* target;
    const char* body;
    int ok;
  };
  const Case writes[] = {
      {"PUT", "/tariffs/weekend", "{}", 201},
      {"PUT", "/stations/site-a/tariff", R"({"tariff_id":"weekend"})", 200},
      {"DELETE", "/stations/site-a/tariff", "", 200},
  };
  for (const auto& c : writes) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    const int calls = BillingCalls();
    for (const char* role : {"read", "operate"}) {
      json body = ExpectError(Ask(c.method, c.target, c.body, role), 403, "forbidden");
      EXPECT_NE(body.value("message", "").find("admin"), std::string::npos) << body;
    }
    EXPECT_EQ(BillingCalls(), calls) << "refused before billing";
    for (const char* role : {"admin", "service", ""}) {  // "": open mode
      HttpResponse r = Ask(c.method, c.target, c.body, role);
      EXPECT_EQ(r.status, c.ok) << role << ": " << r.body;
    }
  }
  for (const char* target :
       {"/tariffs", "/tariffs/weekend", "/tariffs/weekend/versions", "/stations/site-a/tariff"}) {
    EXPECT_EQ(Ask("GET", target, "", "read").status, 200) << target;
  }
}

TEST_F(RestTariffsTest, StationTariffSetGetAndBackToDefault) {
  HttpResponse r = Ask("PUT", "/stations/site-a/tariff", R"({"tariff_id":"weekend"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"status":"success","station_tariff":{
      "station_id":"site-a","tariff_id":"weekend","updated_at":"2026-02-21T00:00:00.000Z"}})"));
  {
    std::lock_guard lock(billing_->mu);
    EXPECT_EQ(billing_->set_station.station_id(), "site-a");
    EXPECT_EQ(billing_->set_station.tariff_id(), "weekend");
  }

  r = Ask("GET", "/stations/site-a/tariff", "", "read");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"station_tariff":{
      "station_id":"site-a","tariff_id":null,"updated_at":null}})"));

  int lookups_before = 0;
  {
    std::lock_guard lock(control_->mu);
    lookups_before = control_->lookups;
  }
  // Back to the default: also for a station control no longer has.
  r = Ask("DELETE", "/stations/gone/tariff");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["station_tariff"]["tariff_id"].is_null());
  {
    std::lock_guard lock(billing_->mu);
    EXPECT_EQ(billing_->set_station.station_id(), "gone");
    EXPECT_EQ(billing_->set_station.tariff_id(), "");
  }
  {
    std::lock_guard lock(control_->mu);
    EXPECT_EQ(control_->lookups, lookups_before) << "DELETE needs no station lookup";
  }
  ExpectError(Ask("POST", "/stations/site-a/tariff", "{}"), 405, "method_not_allowed");
}

TEST_F(RestTariffsTest, StationTariffRefusesBadBodiesAndUnknownStations) {
  const char* bodies[] = {"",
                          "[]",
                          "{}",
                          R"({"tariff_id":""})",
                          R"({"tariff_id":null})",
                          R"({"tariff_id":7})",
                          R"({"tariff_id":"weekend","note":"x"})"};
  for (const char* body : bodies) {
    SCOPED_TRACE(body);
    json error = ExpectError(Ask("PUT", "/stations/site-a/tariff", body), 400, "bad_request");
    const std::string message = error.value("message", "");
    EXPECT_TRUE(message.find("tariff_id") != std::string::npos ||
                message.find("'note'") != std::string::npos)
        << message;
  }
  json error = ExpectError(Ask("PUT", "/stations/nowhere/tariff", R"({"tariff_id":"weekend"})"),
                           404, "not_found");
  EXPECT_NE(error.value("message", "").find("nowhere"), std::string::npos) << error;
  EXPECT_EQ(BillingCalls(), 0) << "nothing stored for a station control does not know";
}

TEST_F(RestTariffsTest, SessionShowsItsTariffAndCostBreakdown) {
  {
    std::lock_guard lock(billing_->mu);
    bv1::Session& s = billing_->session;
    s.set_charger_id("CS001");
    s.set_cost(3869.5);
    s.set_currency("EUR");
    s.set_ended(true);
    s.set_review_reason("meter jumped");
    s.set_tariff_id("weekend");
    s.set_tariff_version(2);
    s.set_cost_minor(386950);
    auto* b = s.mutable_cost_breakdown();
    b->set_energy_micros(3825000000);
    b->set_charging_time_micros(12500000);
    b->set_idle_micros(1);
    b->set_session_fee_micros(1000000);
    b->set_min_max_adjustment_micros(-500000);
    b->set_tax_micros(351772727);
    b->set_prices_exclude_tax(false);
    b->set_charging_ms(5400250);
    b->set_idle_ms(600000);
  }
  HttpResponse r = Ask("GET", "/sessions/tx-1", "", "read");
  ASSERT_EQ(r.status, 200) << r.body;
  json s = json::parse(r.body);
  EXPECT_EQ(s["tariff_id"], "weekend");
  EXPECT_EQ(s["tariff_version"], 2);
  EXPECT_EQ(s["cost_minor"], 386950);
  EXPECT_TRUE(s["cost_minor"].is_number_integer());
  EXPECT_EQ(s["cost_breakdown"], json::parse(R"({"energy":3825.0,"charging_time":12.5,
      "idle":0.000001,"session_fee":1.0,"min_max_adjustment":-0.5,"tax":351.772727,
      "prices_exclude_tax":false,"charging_seconds":5400.25,"idle_seconds":600.0})"));
  // Every field it had before stays.
  for (const char* key :
       {"transaction_id", "charger_id", "station_id", "user_id", "start_time", "end_time",
        "energy_consumed", "cost", "currency", "status", "stop_reason", "id_token_type",
        "account_id", "authorization", "implausible_readings", "needs_review", "review_reason"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(s["cost"], 3869.5);
  EXPECT_EQ(s["review_reason"], "meter jumped");

  {
    std::lock_guard lock(billing_->mu);
    billing_->session.Clear();  // priced by --price-per-kwh, before tariffs
    billing_->session.set_cost(3825);
  }
  s = json::parse(Ask("GET", "/sessions/tx-2", "", "read").body);
  EXPECT_TRUE(s["tariff_id"].is_null());
  EXPECT_TRUE(s["tariff_version"].is_null());
  EXPECT_EQ(s["cost_minor"], 0);
  EXPECT_TRUE(s["cost_breakdown"].is_null());
}

}  // namespace
}  // namespace csms::gateway
