// The charger's event log: which messages become which ChargerEvents (kind, type, times, ids,
// payload with secrets redacted), all events of a message in one RecordChargerEvents call, and
// the message answered only once control has stored them (InternalError otherwise, so that the
// charger retries).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::Frame;

struct ExpectedEvent {
  const char* kind;
  const char* type;
  const char* occurred_at;  // nullptr: unset
  std::optional<int> evse_id, connector_id, request_id;
  const char* payload;  // nullptr: the request's own payload
};

struct EventCase {
  const char* name;
  const char* action;
  const char* payload;
  std::vector<ExpectedEvent> events;
};
// The case's name in test listings, not its bytes.
void PrintTo(const EventCase& c, std::ostream* os) { *os << c.name; }

void ExpectEvent(const control::v1::ChargerEvent& got, const ExpectedEvent& want,
                 const json& request) {
  SCOPED_TRACE(std::string(want.kind) + " " + want.type);
  EXPECT_EQ(got.id(), 0);
  EXPECT_EQ(got.charger_id(), "CS001");
  EXPECT_EQ(got.connection_id(), "c-1");
  EXPECT_EQ(got.kind(), want.kind);
  EXPECT_EQ(got.type(), want.type);
  ASSERT_TRUE(got.has_received_at());
  EXPECT_EQ(FormatRfc3339(FromProto(got.received_at())), kNow) << "the gateway's clock";
  if (want.occurred_at == nullptr) {
    EXPECT_FALSE(got.has_occurred_at()) << FormatRfc3339(FromProto(got.occurred_at()));
  } else {
    ASSERT_TRUE(got.has_occurred_at());
    EXPECT_EQ(FromProto(got.occurred_at()), *ParseRfc3339(want.occurred_at));
  }
  auto optional_id = [](bool has, int value) {
    return has ? std::optional<int>(value) : std::nullopt;
  };
  EXPECT_EQ(optional_id(got.has_evse_id(), got.evse_id()), want.evse_id) << "evse_id";
  EXPECT_EQ(optional_id(got.has_connector_id(), got.connector_id()), want.connector_id)
      << "connector_id";
  EXPECT_EQ(optional_id(got.has_request_id(), got.request_id()), want.request_id) << "request_id";
  EXPECT_TRUE(got.client_address().empty());
  const json payload = json::parse(got.payload_json(), nullptr, false);
  EXPECT_EQ(payload, want.payload ? json::parse(want.payload) : request) << got.payload_json();
}

// A connector's status, a temperature alert and a cleared problem.
constexpr const char* kThreeItems =
    R"({"generatedAt":"2026-11-24T09:02:00Z","seqNo":0,"tbc":false,"eventData":[
         {"eventId":1,"timestamp":"2026-11-24T09:01:00Z","trigger":"Delta",
          "actualValue":"Faulted","eventNotificationType":"HardWiredNotification",
          "component":{"name":"Connector","evse":{"id":2,"connectorId":1}},
          "variable":{"name":"AvailabilityState"}},
         {"eventId":2,"timestamp":"2026-11-24T09:00:30Z","trigger":"Alerting","cause":1,
          "actualValue":"93","techCode":"T1","eventNotificationType":"HardWiredMonitor",
          "component":{"name":"EVSE","evse":{"id":2}},
          "variable":{"name":"Temperature","instance":"Cable"}},
         {"eventId":3,"timestamp":"2026-11-24T09:00:00Z","trigger":"Periodic",
          "actualValue":"true","cleared":true,"eventNotificationType":"CustomMonitor",
          "variableMonitoringId":12,"component":{"name":"ChargingStation"},
          "variable":{"name":"Problem"}}]})";

const EventCase kCases[] = {
    {"SecurityEvent",
     "SecurityEventNotification",
     R"({"type":"TamperDetectionActivated","timestamp":"2026-11-24T08:59:30+09:00",
         "techInfo":"enclosure opened"})",
     {{"SecurityEventNotification",
       "TamperDetectionActivated",
       "2026-11-23T23:59:30Z",
       {},
       {},
       {},
       nullptr}}},
    {"FirmwareStatusWithRequestId",
     "FirmwareStatusNotification",
     R"({"status":"InvalidSignature","requestId":3})",
     {{"FirmwareStatusNotification", "InvalidSignature", nullptr, {}, {}, 3, nullptr}}},
    {"FirmwareStatusWithoutRequestId",
     "FirmwareStatusNotification",
     R"({"status":"Idle"})",
     {{"FirmwareStatusNotification", "Idle", nullptr, {}, {}, {}, nullptr}}},
    {"PublishFirmwareStatus",
     "PublishFirmwareStatusNotification",
     R"({"status":"Published","location":["http://cs.local/fw.bin"],"requestId":7})",
     {{"PublishFirmwareStatusNotification", "Published", nullptr, {}, {}, 7, nullptr}}},
    {"PublishFirmwareStatusWithoutRequestId",
     "PublishFirmwareStatusNotification",
     R"({"status":"Idle"})",
     {{"PublishFirmwareStatusNotification", "Idle", nullptr, {}, {}, {}, nullptr}}},
    {"LogStatus",
     "LogStatusNotification",
     R"({"status":"UploadFailure","requestId":4})",
     {{"LogStatusNotification", "UploadFailure", nullptr, {}, {}, 4, nullptr}}},
    {"LogStatusWithoutRequestId",
     "LogStatusNotification",
     R"({"status":"Idle"})",
     {{"LogStatusNotification", "Idle", nullptr, {}, {}, {}, nullptr}}},
    // One entry for the whole message: the first sample's context, the first reading's time.
    {"MeterValuesWithContext",
     "MeterValues",
     R"({"evseId":2,"meterValue":[
         {"timestamp":"2026-11-24T09:05:00Z","sampledValue":[
           {"value":230.5,"context":"Sample.Clock","measurand":"Voltage","phase":"L1"},
           {"value":12000,"context":"Trigger"}]},
         {"timestamp":"2026-11-24T09:10:00Z","sampledValue":[{"value":231}]}]})",
     {{"MeterValues", "Sample.Clock", "2026-11-24T09:05:00Z", 2, {}, {}, nullptr}}},
    {"MeterValuesOfTheMainMeterWithoutContext",
     "MeterValues",
     R"({"evseId":0,"meterValue":[{"timestamp":"2026-11-24T09:07:00Z",
         "sampledValue":[{"value":1500.25,"measurand":"Energy.Active.Import.Register"}]}]})",
     {{"MeterValues", "Sample.Periodic", "2026-11-24T09:07:00Z", 0, {}, {}, nullptr}}},
    // One entry per item; evse and connector from the component; the item alone as payload.
    {"NotifyEventThreeItems",
     "NotifyEvent",
     kThreeItems,
     {{"NotifyEvent",
       "Connector.AvailabilityState",
       "2026-11-24T09:01:00Z",
       2,
       1,
       {},
       R"({"eventId":1,"timestamp":"2026-11-24T09:01:00Z","trigger":"Delta",
           "actualValue":"Faulted","eventNotificationType":"HardWiredNotification",
           "component":{"name":"Connector","evse":{"id":2,"connectorId":1}},
           "variable":{"name":"AvailabilityState"}})"},
      {"NotifyEvent",
       "EVSE.Temperature",
       "2026-11-24T09:00:30Z",
       2,
       {},
       {},
       R"({"eventId":2,"timestamp":"2026-11-24T09:00:30Z","trigger":"Alerting","cause":1,
           "actualValue":"93","techCode":"T1","eventNotificationType":"HardWiredMonitor",
           "component":{"name":"EVSE","evse":{"id":2}},
           "variable":{"name":"Temperature","instance":"Cable"}})"},
      {"NotifyEvent",
       "ChargingStation.Problem",
       "2026-11-24T09:00:00Z",
       {},
       {},
       {},
       R"({"eventId":3,"timestamp":"2026-11-24T09:00:00Z","trigger":"Periodic",
           "actualValue":"true","cleared":true,"eventNotificationType":"CustomMonitor",
           "variableMonitoringId":12,"component":{"name":"ChargingStation"},
           "variable":{"name":"Problem"}})"}}},
    // A monitor on a secret variable must not put the secret into the log.
    {"NotifyEventOfASecretVariable",
     "NotifyEvent",
     R"({"generatedAt":"2026-11-24T09:02:00Z","seqNo":1,"eventData":[
         {"eventId":9,"timestamp":"2026-11-24T09:01:00Z","trigger":"Delta",
          "actualValue":"s3cret-password-16","eventNotificationType":"CustomMonitor",
          "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}}]})",
     {{"NotifyEvent",
       "SecurityCtrlr.BasicAuthPassword",
       "2026-11-24T09:01:00Z",
       {},
       {},
       {},
       R"({"eventId":9,"timestamp":"2026-11-24T09:01:00Z","trigger":"Delta",
           "actualValue":"<redacted>","eventNotificationType":"CustomMonitor",
           "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}})"}}},
};

class EventLog : public CallRouterTest, public ::testing::WithParamInterface<EventCase> {};

TEST_P(EventLog, EachMessageIsOneCallAnsweredOnlyOnceStored) {
  const EventCase& c = GetParam();
  const json request = json::parse(c.payload);
  Send("ev-1", c.action, request);
  EXPECT_TRUE(replies_.empty()) << "answered before the event log stored it: " << replies_[0];
  ASSERT_EQ(backend_.event_calls.size(), 1u) << "all events of one message in one call";
  const auto& events = backend_.event_calls[0];
  ASSERT_EQ(events.size(), c.events.size());
  for (size_t i = 0; i < events.size(); ++i) ExpectEvent(events[i], c.events[i], request);
  backend_.FinishEvents(grpc::Status::OK);
  EXPECT_EQ(ExpectResult("ev-1"), json::object());
}

TEST_P(EventLog, AFailedStoreIsAnInternalErrorSoTheChargerRetries) {
  const EventCase& c = GetParam();
  Send("ev-2", c.action, json::parse(c.payload));
  ASSERT_EQ(backend_.event_calls.size(), 1u);
  backend_.FinishEvents(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "control database unavailable: SELECT ..."));
  Frame f = ExpectError("ev-2", "InternalError");
  EXPECT_EQ(f.error_description, "event log unavailable") << "no internal detail to the charger";
}

INSTANTIATE_TEST_SUITE_P(Ocpp201, EventLog, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// The connector status a NotifyEvent carries still reaches control as before (not as a
// StatusNotification: the item is in the event log as itself), whatever the log answers.
TEST_F(CallRouterTest, NotifyEventStatusIsReportedBesideTheEventLog) {
  Send("ev-3", "NotifyEvent", json::parse(kThreeItems));
  ASSERT_EQ(backend_.statuses.size(), 1u);
  EXPECT_EQ(backend_.statuses[0].status(), "Faulted");
  EXPECT_FALSE(backend_.statuses[0].from_status_notification());
  ASSERT_EQ(backend_.event_calls.size(), 1u);
  EXPECT_EQ(backend_.event_calls[0].size(), 3u);
}

// An item the schema refuses refuses the whole message: nothing stored, nothing reported.
TEST_F(CallRouterTest, NotifyEventWithABadItemRecordsNothing) {
  json payload = json::parse(kThreeItems);
  payload["eventData"][2]["timestamp"] = "yesterday";
  Send("ev-4", "NotifyEvent", payload);
  Frame f = OnlyReply();
  EXPECT_EQ(f.type, MessageType::kCallError);
  EXPECT_TRUE(backend_.event_calls.empty());
  EXPECT_TRUE(backend_.statuses.empty());
}

// A StatusNotification is not sent to the event log by the gateway: control keeps the history
// of the statuses it stores (StatusReport.from_status_notification).
TEST_F(CallRouterTest, StatusNotificationIsNoEventLogCall) {
  Send("ev-5", "StatusNotification", ValidStatus());
  EXPECT_EQ(ExpectResult("ev-5"), json::object());
  EXPECT_TRUE(backend_.event_calls.empty());
}

}  // namespace
}  // namespace csms::gateway
