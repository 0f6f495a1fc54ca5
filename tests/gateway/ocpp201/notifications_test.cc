// Authorization, metering, data transfer and notifications (what goes into the event log, and
// how, is in event_log_test.cc).
#include <gtest/gtest.h>

#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::Frame;

// ---- other handlers ------------------------------------------------------------------------

TEST_F(CallRouterTest, AuthorizeAsksControlAndAnswersItsDecision) {
  backend_.authorize_status = "";  // keep the completion
  Send("a-1", "Authorize", json::parse(R"({"idToken":{"idToken":"A-1","type":"Local"}})"));
  ASSERT_EQ(backend_.authorizations.size(), 1u);
  EXPECT_EQ(backend_.authorizations[0].id_token(), "A-1");
  EXPECT_EQ(backend_.authorizations[0].type(), "Local");
  control::v1::AuthorizeTokenResponse decision;
  decision.set_status("Blocked");
  decision.set_group_id_token("FLEET");
  decision.set_group_type("Central");
  decision.set_language("en");
  decision.set_personal_message("Call us");
  backend_.authorize_done.at(0)(grpc::Status::OK, decision);
  EXPECT_EQ(ExpectResult("a-1"),
            (json{{"idTokenInfo",
                   {{"status", "Blocked"},
                    {"language1", "en"},
                    {"groupIdToken", {{"idToken", "FLEET"}, {"type", "Central"}}},
                    {"personalMessage",
                     {{"format", "UTF8"}, {"language", "en"}, {"content", "Call us"}}}}}}));
}

TEST_F(CallRouterTest, AuthorizeIsNeverAcceptedWhenControlCannotDecide) {
  backend_.authorize_status = "";
  Send("a-3", "Authorize", json::parse(R"({"idToken":{"idToken":"A","type":"Local"}})"));
  backend_.authorize_done.at(0)(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"),
                                control::v1::AuthorizeTokenResponse());
  ExpectError("a-3", "InternalError");
}

TEST_F(CallRouterTest, AuthorizeWithAStatusTheSchemaDoesNotKnowIsNoDecision) {
  backend_.authorize_status = "Maybe";
  Send("a-4", "Authorize", json::parse(R"({"idToken":{"idToken":"A","type":"Local"}})"));
  ExpectError("a-4", "InternalError");
}

TEST_F(CallRouterTest, AuthorizeWithoutIdTokenIsOccurrenceConstraintViolation) {
  Send("a-2", "Authorize", json::object());
  ExpectError("a-2", "OccurrenceConstraintViolation");
}

TEST_F(CallRouterTest, MeterValuesAcknowledgedOnceLoggedAndNeverBilled) {
  Send("m-1", "MeterValues", json::parse(R"({"evseId":1,"meterValue":[
      {"timestamp":"2026-11-24T09:00:00Z","sampledValue":[{"value":1}]}]})"));
  ASSERT_EQ(backend_.event_calls.size(), 1u);
  backend_.FinishEvents();
  EXPECT_EQ(ExpectResult("m-1"), json::object());
  EXPECT_TRUE(backend_.recorded.empty()) << "standalone meter values reached billing";
  EXPECT_TRUE(backend_.tx_reports.empty());
}

TEST_F(CallRouterTest, DataTransferIsUnknownVendor) {
  Send("d-1", "DataTransfer", json{{"vendorId", "com.example"}});
  EXPECT_EQ(ExpectResult("d-1"), (json{{"status", "UnknownVendorId"}}));
}

TEST_F(CallRouterTest, DataTransferWithoutVendorIdIsOccurrenceConstraintViolation) {
  Send("d-2", "DataTransfer", json::object());
  ExpectError("d-2", "OccurrenceConstraintViolation");
}

TEST_F(CallRouterTest, SecurityEventsAreAcknowledgedWithEmptyObjectOnceLogged) {
  Send("n-1", "SecurityEventNotification",
       json{{"type", "FirmwareUpdated"}, {"timestamp", "2026-11-24T09:00:00Z"}});
  EXPECT_TRUE(replies_.empty());
  backend_.FinishEvents();
  EXPECT_EQ(ExpectResult("n-1"), json::object());
}

// N/G: a NotifyEvent that carries Connector.AvailabilityState updates the connector like a
// StatusNotification (G01.FR.03-07); other events and station-wide states do not.
TEST_F(CallRouterTest, NotifyEventConnectorAvailabilityBecomesAStatus) {
  Send("e-1", "NotifyEvent", json::parse(R"({
    "generatedAt": "2026-11-24T09:00:00Z", "seqNo": 0,
    "eventData": [
      {"eventId": 1, "timestamp": "2026-11-24T09:01:00Z", "trigger": "Delta",
       "actualValue": "Faulted", "eventNotificationType": "HardWiredNotification",
       "component": {"name": "Connector", "evse": {"id": 2, "connectorId": 1}},
       "variable": {"name": "AvailabilityState"}},
      {"eventId": 2, "timestamp": "2026-11-24T09:00:00Z", "trigger": "Alerting",
       "actualValue": "93", "eventNotificationType": "HardWiredMonitor",
       "component": {"name": "EVSE", "evse": {"id": 2}}, "variable": {"name": "Temperature"}},
      {"eventId": 3, "timestamp": "2026-11-24T09:00:00Z", "trigger": "Delta",
       "actualValue": "Unavailable", "eventNotificationType": "HardWiredNotification",
       "component": {"name": "Connector"}, "variable": {"name": "AvailabilityState"}},
      {"eventId": 4, "timestamp": "2026-11-24T09:00:00Z", "trigger": "Delta",
       "actualValue": "Broken", "eventNotificationType": "HardWiredNotification",
       "component": {"name": "Connector", "evse": {"id": 1}},
       "variable": {"name": "AvailabilityState"}}
    ]})"));
  backend_.FinishEvents();
  EXPECT_EQ(ExpectResult("e-1"), json::object());
  ASSERT_EQ(backend_.statuses.size(), 1u);
  EXPECT_EQ(backend_.statuses[0].status(), "Faulted");
  EXPECT_EQ(backend_.statuses[0].evse_id(), 2);
  EXPECT_EQ(backend_.statuses[0].connector_id(), 1);
  EXPECT_EQ(FormatRfc3339(FromProto(backend_.statuses[0].timestamp())), "2026-11-24T09:01:00Z");
  EXPECT_FALSE(backend_.statuses[0].from_status_notification());
}

TEST_F(CallRouterTest, NotifyEventWithoutEventDataIsAnOccurrenceViolation) {
  Send("e-2", "NotifyEvent", json::parse(R"({"generatedAt":"2026-11-24T09:00:00Z","seqNo":0})"));
  ExpectError("e-2", "OccurrenceConstraintViolation");
}

}  // namespace
}  // namespace csms::gateway
