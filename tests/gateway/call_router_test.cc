#include "csms/gateway/call_router.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "csms/common/ocpp_actions.h"
#include "csms/common/ocpp_frame.h"
#include "fakes.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::Frame;
using ocpp::FrameError;
using ocpp::MessageType;
using testing::FakeBackend;
using testing::FakeClock;

constexpr const char* kNow = "2026-11-24T09:15:00Z";  // FakeClock's time

json StandardTx(const std::string& event_type, int seq_no) {
  json p = {{"eventType", event_type},
            {"timestamp", "2026-11-24T09:10:00Z"},
            {"triggerReason", "MeterValuePeriodic"},
            {"seqNo", seq_no},
            {"transactionInfo", {{"transactionId", "tx-42"}, {"chargingState", "Charging"}}},
            {"meterValue", json::parse(R"([{"timestamp":"2026-11-24T09:10:00Z",
                                            "sampledValue":[{"value":2500}]}])")}};
  return p;
}

json SeedTx() {
  return json::parse(R"({"eventType":"Updated","timestamp":"2026-11-24T09:10:00Z",
      "transactionData":{"transactionId":"seed-1","chargingPeriods":[{"dimensions":[
      {"name":"Energy.Active.Import.Register","value":1000}]}]}})");
}

json ValidBoot() {
  return json::parse(R"({"reason":"PowerUp","chargingStation":{"model":"M1","vendorName":"V1",
      "serialNumber":"SN9","firmwareVersion":"fw2"}})");
}

json ValidStatus() {
  return json::parse(R"({"timestamp":"2026-11-24T09:00:00Z","connectorStatus":"Available",
      "evseId":1,"connectorId":1})");
}

billing::v1::RecordTransactionEventResponse Stored(double cost, double kwh) {
  billing::v1::RecordTransactionEventResponse response;
  response.mutable_session()->set_transaction_id("tx-42");
  response.mutable_session()->set_cost(cost);
  response.mutable_session()->set_energy_consumed_kwh(kwh);
  response.mutable_session()->set_currency("KRW");
  return response;
}

class CallRouterTest : public ::testing::Test {
 protected:
  CallRouterTest() { Reset(RouterOptions{}); }

  void Reset(RouterOptions options) {
    router_ = std::make_unique<CallRouter>(backend_, clock_, options);
    station_ = std::make_shared<StationContext>();
    station_->charger_id = "CS001";
    station_->connection_id = "c-1";
    station_->registration = Registration::kAccepted;
  }

  // Sends a CALL through the router; the frame must be a valid CALL.
  void Send(const std::string& id, const std::string& action, const json& payload) {
    ocpp::ParseResult parsed = ocpp::ParseFrame(ocpp::SerializeCall(id, action, payload));
    ASSERT_TRUE(std::holds_alternative<Frame>(parsed));
    router_->Handle(station_, std::get<Frame>(std::move(parsed)),
                    [this](std::string frame) { replies_.push_back(std::move(frame)); });
  }

  // The only reply so far, parsed; it must be valid OCPP-J.
  Frame OnlyReply() {
    EXPECT_EQ(replies_.size(), 1u);
    if (replies_.empty()) return Frame{};
    ocpp::ParseResult parsed = ocpp::ParseFrame(replies_.back());
    if (auto* error = std::get_if<FrameError>(&parsed)) {
      ADD_FAILURE() << "reply is not valid OCPP-J: " << replies_.back() << " ("
                    << error->description << ")";
      return Frame{};
    }
    Frame frame = std::get<Frame>(parsed);
    // A CALLERROR reply must be exactly 5 elements with object details.
    if (frame.type == MessageType::kCallError) {
      json raw = json::parse(replies_.back());
      EXPECT_EQ(raw.size(), 5u);
      EXPECT_TRUE(raw[4].is_object());
    }
    return frame;
  }

  json ExpectResult(const std::string& id) {
    Frame f = OnlyReply();
    EXPECT_EQ(f.type, MessageType::kCallResult) << replies_.back();
    EXPECT_EQ(f.message_id, id);
    return f.payload;
  }

  Frame ExpectError(const std::string& id, const std::string& code) {
    Frame f = OnlyReply();
    EXPECT_EQ(f.type, MessageType::kCallError) << (replies_.empty() ? "" : replies_.back());
    EXPECT_EQ(f.message_id, id);
    EXPECT_EQ(f.error_code, code) << f.error_description;
    return f;
  }

  FakeBackend backend_;
  FakeClock clock_;
  std::unique_ptr<CallRouter> router_;
  std::shared_ptr<StationContext> station_;
  std::vector<std::string> replies_;
};

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

TEST_F(CallRouterTest, OtherKnownButUnhandledActionsAreNotSupported) {
  for (const char* action : {"RequestStartTransaction", "SetChargingProfile", "SignCertificate",
                             "Get15118EVCertificate"}) {
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

// ---- StatusNotification --------------------------------------------------------------------

TEST_F(CallRouterTest, StatusNotificationIsReportedAndAcknowledged) {
  Send("s-1", "StatusNotification", ValidStatus());
  EXPECT_EQ(ExpectResult("s-1"), json::object());
  ASSERT_EQ(backend_.statuses.size(), 1u);
  const auto& report = backend_.statuses[0];
  EXPECT_EQ(report.charger_id(), "CS001");
  EXPECT_EQ(report.connection_id(), "c-1");
  EXPECT_EQ(report.evse_id(), 1);
  EXPECT_EQ(report.connector_id(), 1);
  EXPECT_EQ(report.status(), "Available");
  EXPECT_EQ(FromProto(report.timestamp()), *ParseRfc3339("2026-11-24T09:00:00Z"));
}

TEST_F(CallRouterTest, InvalidStatusNotificationIsNotReported) {
  json payload = ValidStatus();
  payload["connectorStatus"] = "Charging";
  Send("s-2", "StatusNotification", payload);
  Frame f = ExpectError("s-2", "PropertyConstraintViolation");
  EXPECT_NE(f.error_description.find("StatusNotification"), std::string::npos);
  EXPECT_TRUE(backend_.statuses.empty());
}

// ---- BootNotification ----------------------------------------------------------------------

TEST_F(CallRouterTest, BootNotificationWaitsForBackendAndReturnsItsDecision) {
  station_->registration = Registration::kNotBooted;
  Send("b-1", "BootNotification", ValidBoot());
  ASSERT_EQ(backend_.boots.size(), 1u);
  EXPECT_TRUE(replies_.empty()) << "replied before control decided";
  const auto& request = backend_.boots[0];
  EXPECT_EQ(request.charger_id(), "CS001");
  EXPECT_EQ(request.connection_id(), "c-1");
  EXPECT_EQ(request.reason(), "PowerUp");
  EXPECT_EQ(request.vendor(), "V1");
  EXPECT_EQ(request.model(), "M1");
  EXPECT_EQ(request.serial_number(), "SN9");
  EXPECT_EQ(request.firmware_version(), "fw2");

  control::v1::BootNotificationResponse response;
  response.set_status("Accepted");
  response.set_interval_seconds(300);
  backend_.boot_done[0](grpc::Status::OK, response);
  EXPECT_EQ(ExpectResult("b-1"),
            (json{{"currentTime", kNow}, {"interval", 300}, {"status", "Accepted"}}));
  EXPECT_EQ(station_->registration.load(), Registration::kAccepted);
}

TEST_F(CallRouterTest, BootNotificationRejectedByControl) {
  station_->registration = Registration::kNotBooted;
  Send("b-2", "BootNotification", ValidBoot());
  control::v1::BootNotificationResponse response;
  response.set_status("Rejected");
  response.set_interval_seconds(600);
  backend_.boot_done.at(0)(grpc::Status::OK, response);
  json payload = ExpectResult("b-2");
  EXPECT_EQ(payload["status"], "Rejected");
  EXPECT_EQ(payload["interval"], 600);
  EXPECT_EQ(station_->registration.load(), Registration::kRejected);
}

TEST_F(CallRouterTest, BootNotificationWhenBackendFailsIsPending) {
  RouterOptions options;
  options.backend_down_retry_interval_s = 17;
  Reset(options);
  station_->registration = Registration::kNotBooted;
  Send("b-3", "BootNotification", ValidBoot());
  ASSERT_EQ(backend_.boot_done.size(), 1u);
  backend_.boot_done[0](grpc::Status(grpc::StatusCode::UNAVAILABLE, "control down"),
                        control::v1::BootNotificationResponse());
  EXPECT_EQ(ExpectResult("b-3"),
            (json{{"currentTime", kNow}, {"interval", 17}, {"status", "Pending"}}));
  EXPECT_EQ(station_->registration.load(), Registration::kPending);
}

TEST_F(CallRouterTest, InvalidBootNotificationNeverReachesBackend) {
  json payload = ValidBoot();
  payload["chargingStation"].erase("vendorName");
  Send("b-4", "BootNotification", payload);
  ExpectError("b-4", "OccurrenceConstraintViolation");
  EXPECT_TRUE(backend_.boots.empty());
}

TEST_F(CallRouterTest, ProfileThreeBootWithAnotherSerialNumberIsRefusedAndClosed) {
  station_->registration = Registration::kNotBooted;
  station_->certificate_cn = "SN-OTHER";  // ValidBoot() says SN9
  Send("b-5", "BootNotification", ValidBoot());
  ExpectError("b-5", "SecurityError");
  EXPECT_TRUE(backend_.boots.empty()) << "a mismatched boot must not be recorded";
  EXPECT_TRUE(station_->close_requested.load());
}

TEST_F(CallRouterTest, ProfileThreeBootWithTheCertificatesSerialNumberGoesAhead) {
  station_->registration = Registration::kNotBooted;
  station_->certificate_cn = "SN9";
  Send("b-6", "BootNotification", ValidBoot());
  ASSERT_EQ(backend_.boots.size(), 1u);
  EXPECT_FALSE(station_->close_requested.load());
  json payload = ValidBoot();
  payload["chargingStation"].erase("serialNumber");  // optional in OCPP: nothing to compare
  Send("b-7", "BootNotification", payload);
  EXPECT_EQ(backend_.boots.size(), 2u);
  EXPECT_FALSE(station_->close_requested.load());
}

// ---- TransactionEvent ----------------------------------------------------------------------

TEST_F(CallRouterTest, TransactionEventRepliesOnlyAfterBackendStoredIt) {
  Send("t-1", "TransactionEvent", StandardTx("Updated", 2));
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_TRUE(replies_.empty()) << "acknowledged before billing stored the event";
  const auto& event = backend_.recorded[0];
  EXPECT_EQ(event.charger_id(), "CS001");
  EXPECT_EQ(event.connection_id(), "c-1");
  EXPECT_EQ(event.transaction_id(), "tx-42");
  EXPECT_EQ(event.event_type(), ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED);
  EXPECT_EQ(event.dedup_key(), "seq:2");
  EXPECT_DOUBLE_EQ(event.energy_register_wh(), 2500.0);
  EXPECT_EQ(FromProto(event.received_at()), testing::FixedTime());
  EXPECT_TRUE(backend_.tx_reports.empty());

  backend_.record_done[0](grpc::Status::OK, Stored(375, 2.5));
  EXPECT_EQ(ExpectResult("t-1"), json::object());  // Updated, no idToken: nothing to say
  ASSERT_EQ(backend_.tx_reports.size(), 1u);
  const auto& report = backend_.tx_reports[0];
  EXPECT_EQ(report.event().transaction_id(), "tx-42");
  EXPECT_DOUBLE_EQ(report.energy_consumed_kwh(), 2.5);
  EXPECT_DOUBLE_EQ(report.total_cost(), 375.0);
  EXPECT_EQ(report.currency(), "KRW");
}

TEST_F(CallRouterTest, EndedReplyCarriesTotalCostFromSession) {
  json payload = StandardTx("Ended", 7);
  payload["transactionInfo"]["stoppedReason"] = "Remote";
  Send("t-2", "TransactionEvent", payload);
  ASSERT_EQ(backend_.record_done.size(), 1u);
  EXPECT_TRUE(replies_.empty());
  backend_.record_done[0](grpc::Status::OK, Stored(3825.5, 25.5));
  json reply = ExpectResult("t-2");
  ASSERT_TRUE(reply.contains("totalCost")) << reply;
  EXPECT_DOUBLE_EQ(reply["totalCost"].get<double>(), 3825.5);
  EXPECT_FALSE(reply.contains("idTokenInfo"));
}

TEST_F(CallRouterTest, EndedReplyWithZeroCostStillHasTotalCost) {
  Send("t-3", "TransactionEvent", StandardTx("Ended", 7));
  backend_.record_done.at(0)(grpc::Status::OK, Stored(0, 0));
  json reply = ExpectResult("t-3");
  ASSERT_TRUE(reply.contains("totalCost")) << reply;  // 0 = free; absent would not mean free
  EXPECT_EQ(reply["totalCost"].get<double>(), 0.0);
}

TEST_F(CallRouterTest, ReplyHasIdTokenInfoWhenIdTokenWasSent) {
  json payload = StandardTx("Started", 0);
  payload["idToken"] = {{"idToken", "RFID-1"}, {"type", "ISO14443"}};
  Send("t-4", "TransactionEvent", payload);
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_EQ(backend_.recorded[0].id_token(), "RFID-1");
  backend_.record_done[0](grpc::Status::OK, Stored(0, 0));
  json reply = ExpectResult("t-4");
  ASSERT_TRUE(reply.contains("idTokenInfo")) << reply;
  EXPECT_EQ(reply["idTokenInfo"], (json{{"status", "Accepted"}}));
  EXPECT_FALSE(reply.contains("totalCost"));
}

TEST_F(CallRouterTest, BackendFailureIsInternalErrorNeverCallResult) {
  json payload = StandardTx("Ended", 8);
  payload["idToken"] = {{"idToken", "RFID-1"}, {"type", "ISO14443"}};
  Send("t-5", "TransactionEvent", payload);
  ASSERT_EQ(backend_.record_done.size(), 1u);
  backend_.record_done[0](grpc::Status(grpc::StatusCode::UNAVAILABLE, "billing down"),
                          billing::v1::RecordTransactionEventResponse());
  ExpectError("t-5", "InternalError");
  EXPECT_TRUE(backend_.tx_reports.empty()) << "reported an event that was not stored";
}

TEST_F(CallRouterTest, DeadlineExceededIsInternalErrorToo) {
  Send("t-6", "TransactionEvent", StandardTx("Updated", 3));
  backend_.record_done.at(0)(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow"),
                             billing::v1::RecordTransactionEventResponse());
  ExpectError("t-6", "InternalError");
}

TEST_F(CallRouterTest, SeedDialectTransactionEventIsRecorded) {
  Send("t-7", "TransactionEvent", SeedTx());
  ASSERT_EQ(backend_.recorded.size(), 1u);
  EXPECT_EQ(backend_.recorded[0].dialect(), ocpp::v1::DIALECT_SEED);
  EXPECT_EQ(backend_.recorded[0].transaction_id(), "seed-1");
  backend_.record_done[0](grpc::Status::OK, Stored(150, 1));
  EXPECT_EQ(ExpectResult("t-7"), json::object());
}

TEST_F(CallRouterTest, StrictRouterRefusesSeedDialect) {
  RouterOptions options;
  options.strict = true;
  Reset(options);
  Send("t-8", "TransactionEvent", SeedTx());
  ExpectError("t-8", "OccurrenceConstraintViolation");
  EXPECT_TRUE(backend_.recorded.empty());
}

TEST_F(CallRouterTest, InvalidTransactionEventNeverReachesBackend) {
  json payload = StandardTx("Updated", 1);
  payload["seqNo"] = "1";
  Send("t-9", "TransactionEvent", payload);
  Frame f = ExpectError("t-9", "TypeConstraintViolation");
  EXPECT_NE(f.error_description.find("seqNo"), std::string::npos) << f.error_description;
  EXPECT_TRUE(backend_.recorded.empty());
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
  EXPECT_EQ(ExpectResult("g-7"), json::object());
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

// ---- other handlers ------------------------------------------------------------------------

TEST_F(CallRouterTest, AuthorizeAccepts) {
  Send("a-1", "Authorize", json::parse(R"({"idToken":{"idToken":"A","type":"Local"}})"));
  EXPECT_EQ(ExpectResult("a-1"), (json{{"idTokenInfo", {{"status", "Accepted"}}}}));
}

TEST_F(CallRouterTest, AuthorizeWithoutIdTokenIsOccurrenceConstraintViolation) {
  Send("a-2", "Authorize", json::object());
  ExpectError("a-2", "OccurrenceConstraintViolation");
}

TEST_F(CallRouterTest, MeterValuesAcknowledged) {
  Send("m-1", "MeterValues", json::parse(R"({"evseId":1,"meterValue":[
      {"timestamp":"2026-11-24T09:00:00Z","sampledValue":[{"value":1}]}]})"));
  EXPECT_EQ(ExpectResult("m-1"), json::object());
}

TEST_F(CallRouterTest, DataTransferIsUnknownVendor) {
  Send("d-1", "DataTransfer", json{{"vendorId", "com.example"}});
  EXPECT_EQ(ExpectResult("d-1"), (json{{"status", "UnknownVendorId"}}));
}

TEST_F(CallRouterTest, DataTransferWithoutVendorIdIsOccurrenceConstraintViolation) {
  Send("d-2", "DataTransfer", json::object());
  ExpectError("d-2", "OccurrenceConstraintViolation");
}

TEST_F(CallRouterTest, NotificationsAreAcknowledgedWithEmptyObject) {
  Send("n-1", "SecurityEventNotification",
       json{{"type", "FirmwareUpdated"}, {"timestamp", "2026-11-24T09:00:00Z"}});
  EXPECT_EQ(ExpectResult("n-1"), json::object());
}

}  // namespace
}  // namespace csms::gateway
