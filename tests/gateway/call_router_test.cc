// The router's shared plumbing: unknown actions, the registration gate, last-seen.
#include <gtest/gtest.h>

#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::Frame;

// ---- basics --------------------------------------------------------------------------------

TEST_F(CallRouterTest, HeartbeatAnsweredWithCurrentTime) {
  Send("hb-1", "Heartbeat", json::object());
  json payload = ExpectResult("hb-1");
  EXPECT_EQ(payload, (json{{"currentTime", kNow}}));
}

TEST_F(CallRouterTest, CallsMarkStationSeenAtMostOncePerSecond) {
  Send("hb-1", "Heartbeat", json::object());
  Send("x-1", "NoSuchAction", json::object());  // same instant: already reported
  ASSERT_EQ(backend_.seen.size(), 1u);
  EXPECT_EQ(backend_.seen[0].charger_id, "CS001");
  EXPECT_EQ(backend_.seen[0].connection_id, "c-1");
  EXPECT_EQ(backend_.seen[0].at, testing::FixedTime());

  clock_.Set(testing::FixedTime() + std::chrono::milliseconds(999));
  Send("hb-2", "Heartbeat", json::object());
  EXPECT_EQ(backend_.seen.size(), 1u);
  clock_.Set(testing::FixedTime() + std::chrono::seconds(1));
  Send("x-2", "NoSuchAction", json::object());  // unknown actions count as signs of life too
  ASSERT_EQ(backend_.seen.size(), 2u);
  EXPECT_EQ(backend_.seen[1].at, testing::FixedTime() + std::chrono::seconds(1));
}

TEST_F(CallRouterTest, HeartbeatWithNonObjectPayloadCannotArrive) {
  // The frame parser already refuses it (FormatViolation), so the router never sees it.
  auto parsed = ocpp::ParseFrame(R"([2,"hb","Heartbeat",[]])");
  ASSERT_TRUE(std::holds_alternative<FrameError>(parsed));
  EXPECT_EQ(std::get<FrameError>(parsed).code, "FormatViolation");
}

TEST_F(CallRouterTest, UnknownActionIsNotImplemented) {
  Send("u-1", "FlyToTheMoon", json::object());
  Frame f = ExpectError("u-1", "NotImplemented");
  EXPECT_NE(f.error_description.find("FlyToTheMoon"), std::string::npos);
}

TEST_F(CallRouterTest, ActionNamesAreCaseSensitive) {
  Send("u-2", "heartbeat", json::object());
  ExpectError("u-2", "NotImplemented");
}

TEST_F(CallRouterTest, CsmsToStationActionIsNotSupported) {
  Send("r-1", "Reset", json{{"type", "Immediate"}});
  ExpectError("r-1", "NotSupported");
}

TEST_F(CallRouterTest, OtherCsmsToStationActionsAreNotSupported) {
  for (const char* action :
       {"RequestStartTransaction", "SetChargingProfile", "GetVariables", "CertificateSigned"}) {
    replies_.clear();
    Send("k-1", action, json::object());
    ExpectError("k-1", "NotSupported");
  }
}

TEST_F(CallRouterTest, UnknownActionBeatsRegistrationGate) {
  station_->registration = Registration::kNotBooted;
  Send("u-3", "Vendor.Specific", json::object());
  ExpectError("u-3", "NotImplemented");
}

TEST_F(CallRouterTest, IsOcpp201ActionKnowsBothDirections) {
  using ocpp::IsOcpp201Action;
  EXPECT_TRUE(IsOcpp201Action("BootNotification"));
  EXPECT_TRUE(IsOcpp201Action("Reset"));
  EXPECT_TRUE(IsOcpp201Action("TransactionEvent"));
  EXPECT_FALSE(IsOcpp201Action("StartTransaction"));  // 1.6 only
  EXPECT_FALSE(IsOcpp201Action("transactionevent"));
  EXPECT_FALSE(IsOcpp201Action(""));
}

TEST(RegistrationFromStringTest, Maps) {
  EXPECT_EQ(RegistrationFromString("Accepted"), Registration::kAccepted);
  EXPECT_EQ(RegistrationFromString("Pending"), Registration::kPending);
  EXPECT_EQ(RegistrationFromString("Rejected"), Registration::kRejected);
  EXPECT_EQ(RegistrationFromString(""), Registration::kNotBooted);
  EXPECT_EQ(RegistrationFromString("accepted"), Registration::kNotBooted);
}

// ---- registration gate ---------------------------------------------------------------------

TEST_F(CallRouterTest, NotBootedStationGetsSecurityErrorForHeartbeat) {
  station_->registration = Registration::kNotBooted;
  Send("g-1", "Heartbeat", json::object());
  ExpectError("g-1", "SecurityError");
}

TEST_F(CallRouterTest, PendingStationGetsSecurityErrorForTransactionEvent) {
  station_->registration = Registration::kPending;
  Send("g-2", "TransactionEvent", StandardTx("Started", 0));
  ExpectError("g-2", "SecurityError");
  EXPECT_TRUE(backend_.recorded.empty());
}

TEST_F(CallRouterTest, PendingStationGetsSecurityErrorForStatusNotification) {
  station_->registration = Registration::kPending;
  Send("g-3", "StatusNotification", ValidStatus());
  ExpectError("g-3", "SecurityError");
  EXPECT_TRUE(backend_.statuses.empty());
}

TEST_F(CallRouterTest, RejectedStationGetsSecurityError) {
  station_->registration = Registration::kRejected;
  Send("g-4", "Authorize", json::parse(R"({"idToken":{"idToken":"A","type":"Local"}})"));
  ExpectError("g-4", "SecurityError");
}

TEST_F(CallRouterTest, NotBootedStationMayBoot) {
  station_->registration = Registration::kNotBooted;
  Send("g-5", "BootNotification", ValidBoot());
  EXPECT_EQ(backend_.boots.size(), 1u);
  EXPECT_TRUE(replies_.empty());
}

TEST_F(CallRouterTest, PendingAndRejectedStationsMayBootAgain) {
  for (Registration r : {Registration::kPending, Registration::kRejected}) {
    station_->registration = r;
    Send("g-6", "BootNotification", ValidBoot());
  }
  EXPECT_EQ(backend_.boots.size(), 2u);
  EXPECT_TRUE(replies_.empty());
}

TEST_F(CallRouterTest, PendingStationMayAnswerReportRequests) {
  station_->registration = Registration::kPending;
  Send("g-7", "NotifyReport", json::parse(R"({"requestId":1,"generatedAt":"2026-11-24T09:00:00Z",
      "seqNo":0})"));
  ASSERT_EQ(backend_.report_parts.size(), 1u);
  EXPECT_TRUE(replies_.empty()) << "answered before the part was stored";
  backend_.report_part_done.at(0)(grpc::Status::OK, control::v1::ReportResponse());
  EXPECT_EQ(ExpectResult("g-7"), json::object());
}

// Each part goes to the device model as the charger sent it (a secret value redacted), and is
// answered only once stored; a part that could not be stored is refused so it comes again.
TEST_F(CallRouterTest, NotifyReportPartsAreStoredBeforeTheyAreAnswered) {
  const json part = json::parse(R"({"requestId":7,"generatedAt":"2026-11-24T09:00:00Z",
      "seqNo":2,"tbc":true,"reportData":[
        {"component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"},
         "variableAttribute":[{"value":"s3cret-in-a-report","mutability":"WriteOnly"}]},
        {"component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"},
         "variableAttribute":[{"value":"30"}]}]})");
  Send("r-1", "NotifyReport", part);
  ASSERT_EQ(backend_.report_parts.size(), 1u);
  const control::v1::ReportPartRequest& sent = backend_.report_parts[0];
  EXPECT_EQ(sent.charger_id(), station_->charger_id);
  EXPECT_EQ(sent.connection_id(), station_->connection_id);
  EXPECT_EQ(FromProto(sent.received_at()), clock_.Now());
  const json payload = json::parse(sent.payload_json());
  EXPECT_EQ(payload["seqNo"], 2);
  EXPECT_EQ(payload["reportData"][1]["variableAttribute"][0]["value"], "30");
  EXPECT_EQ(sent.payload_json().find("s3cret-in-a-report"), std::string::npos);
  EXPECT_TRUE(replies_.empty());
  backend_.report_part_done.at(0)(grpc::Status::OK, control::v1::ReportResponse());
  EXPECT_EQ(ExpectResult("r-1"), json::object());

  replies_.clear();
  Send("r-2", "NotifyReport", part);
  backend_.report_part_done.at(1)(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "control database unavailable: ..."),
      control::v1::ReportResponse());
  Frame f = ExpectError("r-2", "InternalError");
  EXPECT_EQ(f.error_description, "device model unavailable");
}

TEST_F(CallRouterTest, StationWithUnknownRegistrationIsNotLockedOut) {
  // Control could not be asked yet: the gateway does not lock the charger out.
  station_->registration = Registration::kUnknown;
  Send("g-8", "Heartbeat", json::object());
  EXPECT_EQ(ExpectResult("g-8"), (json{{"currentTime", kNow}}));
}

TEST_F(CallRouterTest, BootAcceptOpensTheGate) {
  station_->registration = Registration::kNotBooted;
  Send("g-9", "BootNotification", ValidBoot());
  control::v1::BootNotificationResponse response;
  response.set_status("Accepted");
  response.set_interval_seconds(60);
  backend_.boot_done.at(0)(grpc::Status::OK, response);
  replies_.clear();
  Send("g-10", "Heartbeat", json::object());
  EXPECT_EQ(ExpectResult("g-10"), (json{{"currentTime", kNow}}));
}

}  // namespace
}  // namespace csms::gateway
