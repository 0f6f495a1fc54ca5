// The generic path of the route table: every message a 2.0.1 charger sends has a route, decode
// failures and invalid answers of the CSMS's own become the right CALLERROR, a handler answers
// once, and triggered messages pass the registration gate while Pending.
#include "csms/gateway/route_table.h"

#include <gtest/gtest.h>

#include "csms/gateway/ocpp201/remote_trigger.h"
#include "csms/ocpp/v201/reset.h"
#include "router_fixture.h"

namespace csms::gateway {
namespace {

using nlohmann::json;
using ocpp::Frame;

TEST_F(CallRouterTest, EveryMessageAStationSendsHasARoute) {
  const std::vector<std::string> expected = {
      "Authorize",
      "BootNotification",
      "ClearedChargingLimit",
      "DataTransfer",
      "FirmwareStatusNotification",
      "Get15118EVCertificate",
      "GetCertificateStatus",
      "Heartbeat",
      "LogStatusNotification",
      "MeterValues",
      "NotifyChargingLimit",
      "NotifyCustomerInformation",
      "NotifyDisplayMessages",
      "NotifyEVChargingNeeds",
      "NotifyEVChargingSchedule",
      "NotifyEvent",
      "NotifyMonitoringReport",
      "NotifyReport",
      "PublishFirmwareStatusNotification",
      "ReportChargingProfiles",
      "ReservationStatusUpdate",
      "SecurityEventNotification",
      "SignCertificate",
      "StatusNotification",
      "TransactionEvent",
  };
  EXPECT_EQ(router_->Actions(), expected);
}

TEST_F(CallRouterTest, SchemaValidButBeyond32BitsIsAPropertyViolationNamingTheField) {
  json status = ValidStatus();
  status["evseId"] = 1099511627776;  // JSON Schema's "integer" has no bound; OCPP's is 32 bits
  Send("s-9", "StatusNotification", status);
  Frame f = ExpectError("s-9", "PropertyConstraintViolation");
  EXPECT_EQ(f.error_description,
            "StatusNotification: evseId: integer out of the 32-bit range OCPP uses");
  EXPECT_TRUE(backend_.statuses.empty());
}

// Answers the specification allows while these features are not built: never NotSupported.
struct InterimAnswerCase {
  const char* action;
  const char* payload;
  const char* status;
};

class InterimAnswers : public CallRouterTest,
                       public ::testing::WithParamInterface<InterimAnswerCase> {};

TEST_P(InterimAnswers, AreSchemaValidAndSayWhatTheCsmsDoes) {
  const InterimAnswerCase& c = GetParam();
  Send("i-1", c.action, json::parse(c.payload));
  const json answer = ExpectResult("i-1");  // an answer that failed its schema is InternalError
  EXPECT_EQ(answer.value("status", ""), c.status);
}

INSTANTIATE_TEST_SUITE_P(
    Ocpp201, InterimAnswers,
    ::testing::Values(
        InterimAnswerCase{"SignCertificate", R"({"csr":"-----BEGIN CERTIFICATE REQUEST-----"})",
                          "Rejected"},
        InterimAnswerCase{"Get15118EVCertificate",
                          R"({"iso15118SchemaVersion":"urn:iso:15118:2:2013:MsgDef",
                              "action":"Install","exiRequest":"AAAA"})",
                          "Failed"},
        InterimAnswerCase{"GetCertificateStatus",
                          R"({"ocspRequestData":{"hashAlgorithm":"SHA256","issuerNameHash":"a",
                              "issuerKeyHash":"b","serialNumber":"c","responderURL":"http://x"}})",
                          "Failed"},
        InterimAnswerCase{"NotifyEVChargingNeeds",
                          R"({"evseId":1,"chargingNeeds":{"requestedEnergyTransfer":"DC"}})",
                          "Rejected"},
        InterimAnswerCase{"NotifyEVChargingSchedule",
                          R"({"timeBase":"2026-11-24T09:00:00Z","evseId":1,
                              "chargingSchedule":{"id":1,"chargingRateUnit":"W",
                              "chargingSchedulePeriod":[{"startPeriod":0,"limit":7400}]}})",
                          "Accepted"},
        InterimAnswerCase{"DataTransfer", R"({"vendorId":"com.example","messageId":"x"})",
                          "UnknownVendorId"}),
    [](const auto& info) { return std::string(info.param.action); });

TEST_F(CallRouterTest, NotificationsOfEveryBlockAreAcknowledgedWithAnEmptyObject) {
  const std::pair<const char*, const char*> cases[] = {
      {"FirmwareStatusNotification", R"({"status":"Installed","requestId":3})"},
      {"PublishFirmwareStatusNotification", R"({"status":"Published"})"},
      {"LogStatusNotification", R"({"status":"Uploaded","requestId":4})"},
      {"NotifyCustomerInformation",
       R"({"data":"x","seqNo":0,"generatedAt":"2026-11-24T09:00:00Z","requestId":1})"},
      {"NotifyMonitoringReport",
       R"({"requestId":1,"seqNo":0,"generatedAt":"2026-11-24T09:00:00Z"})"},
      {"NotifyChargingLimit", R"({"chargingLimit":{"chargingLimitSource":"EMS"}})"},
      {"ClearedChargingLimit", R"({"chargingLimitSource":"SO","evseId":1})"},
      {"ReportChargingProfiles",
       R"({"requestId":1,"chargingLimitSource":"CSO","evseId":1,"chargingProfile":[{"id":1,
           "stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile",
           "chargingProfileKind":"Absolute","chargingSchedule":[{"id":1,
           "chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":1}]}]}]})"},
      {"ReservationStatusUpdate", R"({"reservationId":5,"reservationUpdateStatus":"Expired"})"},
      {"NotifyDisplayMessages", R"({"requestId":2})"},
  };
  for (const auto& [action, payload] : cases) {
    SCOPED_TRACE(action);
    replies_.clear();
    Send("n-1", action, json::parse(payload));
    // Those the event log keeps are answered once it has.
    while (backend_.events_finished < backend_.event_done.size()) backend_.FinishEvents();
    EXPECT_EQ(ExpectResult("n-1"), json::object());
  }
}

// ---- triggered messages and the registration gate (DIGEST §2.7) ----------------------------

TEST_F(CallRouterTest, TriggeredMessagePassesTheGateWhilePending) {
  station_->registration = Registration::kPending;
  Send("t-1", "StatusNotification", ValidStatus());
  ExpectError("t-1", "SecurityError");
  station_->AllowTriggered("StatusNotification", clock_.Now() + std::chrono::seconds(60));
  replies_.clear();
  Send("t-2", "StatusNotification", ValidStatus());
  EXPECT_EQ(ExpectResult("t-2"), json::object());
  EXPECT_EQ(backend_.statuses.size(), 1u);
  // Only what was triggered.
  replies_.clear();
  Send("t-3", "Heartbeat", json::object());
  ExpectError("t-3", "SecurityError");
}

TEST_F(CallRouterTest, TriggerPermissionExpires) {
  station_->registration = Registration::kPending;
  station_->AllowTriggered("Heartbeat", clock_.Now() + std::chrono::seconds(60));
  clock_.Set(clock_.Now() + std::chrono::seconds(61));
  Send("t-4", "Heartbeat", json::object());
  ExpectError("t-4", "SecurityError");
}

TEST_F(CallRouterTest, RejectedStationGetsNothingThroughEvenWhenTriggered) {
  station_->registration = Registration::kRejected;
  station_->AllowTriggered("Heartbeat", clock_.Now() + std::chrono::seconds(60));
  Send("t-5", "Heartbeat", json::object());
  ExpectError("t-5", "SecurityError");
}

// ---- the table itself ----------------------------------------------------------------------

class RouteTableTest : public ::testing::Test {
 protected:
  // Runs `action`'s route on a payload and returns the frames it replied with.
  std::vector<std::string> Run(const RouteTable& table, const std::string& action,
                               const json& payload) {
    std::vector<std::string> frames;
    auto station = std::make_shared<StationContext>();
    station->charger_id = "CS1";
    ocpp::Frame frame;
    frame.message_id = "m-1";
    frame.action = action;
    frame.payload = payload;
    ReplyFn reply = [&frames](std::string f) { frames.push_back(std::move(f)); };
    table.Find(action)->invoke(station, frame, reply);
    return frames;
  }
};

TEST_F(RouteTableTest, AnInvalidAnswerOfTheCsmsIsNeverSent) {
  RouteTable table(&ocpp::SchemaSet::Ocpp201());
  table.Add<ocpp::v201::ResetRequest>([](const auto&, auto respond) {
    ocpp::v201::ResetResponse answer;
    answer.status = ocpp::v201::ResetStatusEnum::kAccepted;
    answer.status_info.emplace().reason_code = std::string(21, 'x');  // maxLength 20
    respond.Ok(answer);
  });
  auto frames = Run(table, "Reset", json{{"type", "Immediate"}});
  ASSERT_EQ(frames.size(), 1u);
  const json frame = json::parse(frames[0]);
  EXPECT_EQ(frame[0], 4);
  EXPECT_EQ(frame[2], "InternalError");
}

TEST_F(RouteTableTest, AHandlerAnswersOnce) {
  RouteTable table(nullptr);
  table.Add<ocpp::v201::ResetRequest>([](const auto& call, auto respond) {
    EXPECT_EQ(call.request.type, ocpp::v201::ResetEnum::kOnIdle);
    EXPECT_EQ(call.request.evse_id, 2);
    ocpp::v201::ResetResponse answer;
    answer.status = ocpp::v201::ResetStatusEnum::kScheduled;
    respond.Ok(answer);
    respond.Error("GenericError", "too late");
  });
  auto frames = Run(table, "Reset", json{{"type", "OnIdle"}, {"evseId", 2}});
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(json::parse(frames[0]), json::parse(R"([3,"m-1",{"status":"Scheduled"}])"));
}

TEST_F(RouteTableTest, TwoRoutesForOneActionAreAProgrammingError) {
  RouteTable table(nullptr);
  table.Add<ocpp::v201::ResetRequest>([](const auto&, auto) {});
  EXPECT_THROW(table.Add<ocpp::v201::ResetRequest>([](const auto&, auto) {}), std::logic_error);
}

}  // namespace
}  // namespace csms::gateway

namespace csms::gateway::ocpp201 {
namespace {

TEST(RemoteTriggerTest, AnAcceptedTriggerOpensTheGateForItsAction) {
  struct Case {
    const char* requested;
    const char* status;
    const char* opens;  // nullptr: nothing
  };
  const Case cases[] = {
      {"StatusNotification", "Accepted", "StatusNotification"},
      {"BootNotification", "Accepted", "BootNotification"},
      {"SignChargingStationCertificate", "Accepted", "SignCertificate"},
      {"SignV2GCertificate", "Accepted", "SignCertificate"},
      {"MeterValues", "Rejected", nullptr},
      {"Heartbeat", "NotImplemented", nullptr},
  };
  const TimePoint now = gateway::testing::FixedTime();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.requested);
    StationContext station;
    const bool opened = NoteAcceptedTrigger(station, {{"requestedMessage", c.requested}},
                                            {{"status", c.status}}, now);
    EXPECT_EQ(opened, c.opens != nullptr);
    if (c.opens != nullptr) {
      EXPECT_TRUE(station.IsTriggered(c.opens, now + kTriggeredMessageWindow));
      EXPECT_FALSE(
          station.IsTriggered(c.opens, now + kTriggeredMessageWindow + std::chrono::seconds(1)));
    }
  }
}

TEST(RemoteTriggerTest, GarbageOpensNothing) {
  StationContext station;
  EXPECT_FALSE(NoteAcceptedTrigger(station, {{"requestedMessage", "Coffee"}},
                                   {{"status", "Accepted"}}, gateway::testing::FixedTime()));
  EXPECT_FALSE(NoteAcceptedTrigger(station, nlohmann::json::array(), {{"status", "Accepted"}},
                                   gateway::testing::FixedTime()));
}

}  // namespace
}  // namespace csms::gateway::ocpp201
