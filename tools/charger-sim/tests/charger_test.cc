#include "csms/charger_sim/charger.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "charger_fixture.h"
#include "csms/common/log.h"

namespace csms::sim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test_support::ChargerTest;
using test_support::ExpectValid;
using test_support::Keys;
using test_support::Profile;
using test_support::RequestStart;

// The schema checks of the fixture are only worth something if the checker catches mistakes.
TEST(SchemaCheckTest, CatchesWhatTheSchemasForbid) {
  const auto& schemas = ocpp::SchemaSet::Ocpp201();
  auto invalid = [&](const char* action, const json& payload) {
    return schemas.Validate(action, ocpp::PayloadKind::kRequest, payload).has_value();
  };
  json good = {{"timestamp", "2026-03-01T09:00:00Z"},
               {"connectorStatus", "Available"},
               {"evseId", 1},
               {"connectorId", 1}};
  EXPECT_FALSE(invalid("StatusNotification", good));
  json extra = good;
  extra["status"] = "Available";
  EXPECT_TRUE(invalid("StatusNotification", extra));
  json missing = good;
  missing.erase("connectorId");
  EXPECT_TRUE(invalid("StatusNotification", missing));
  json bad_enum = good;
  bad_enum["connectorStatus"] = "Charging";
  EXPECT_TRUE(invalid("StatusNotification", bad_enum));
  json bad_time = good;
  bad_time["timestamp"] = "2026-03-01T09:00:00";  // no zone
  EXPECT_TRUE(invalid("StatusNotification", bad_time));
  json bad_type = good;
  bad_type["evseId"] = 1.5;
  EXPECT_TRUE(invalid("StatusNotification", bad_type));
}

TEST_F(ChargerTest, BootNotificationThenStatusThenHeartbeatAtTheGivenInterval) {
  Make();
  charger_->OnConnected();
  json boot = NextCall("BootNotification");
  EXPECT_EQ(boot[3], json::parse(R"({"reason":"PowerUp","chargingStation":{"model":"Terra 53",
      "vendorName":"ABB","serialNumber":"SN-emart_jeju_01-001","firmwareVersion":"1.0.0"}})"));
  EXPECT_TRUE(NothingSent());

  Answer(boot, {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", 7}, {"status", "Accepted"}});
  EXPECT_EQ(charger_->boot_state(), BootState::kAccepted);
  EXPECT_EQ(charger_->heartbeat_interval(), 7s);
  json status = NextCall("StatusNotification");
  EXPECT_EQ(status[3], json::parse(R"({"timestamp":"2026-03-01T09:00:00Z",
      "connectorStatus":"Available","evseId":1,"connectorId":1})"));
  Answer(status, json::object());

  Advance(6s);
  EXPECT_TRUE(NothingSent());
  Advance(1s);
  json heartbeat = NextCall("Heartbeat");
  EXPECT_EQ(heartbeat[3], json::object());
  Answer(heartbeat, {{"currentTime", "2026-03-01T09:00:07Z"}});
  Advance(7s);
  NextCall("Heartbeat");
}

TEST_F(ChargerTest, BootNotificationCarriesTheConfiguredSerialNumber) {
  // Profile 3: the serial number is the client certificate's CN (B01.FR.11).
  ChargerOptions options = DefaultOptions();
  options.serial_number = "emart_jeju_04";
  Make(options);
  charger_->OnConnected();
  json boot = NextCall("BootNotification");
  EXPECT_EQ(boot[3]["chargingStation"]["serialNumber"], "emart_jeju_04");
}

TEST_F(ChargerTest, PendingBootIsRetriedAfterTheIntervalAndBlocksRemoteStart) {
  Make();
  charger_->OnConnected();
  json boot = NextCall("BootNotification");
  Answer(boot, {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", 20}, {"status", "Pending"}});
  EXPECT_EQ(charger_->boot_state(), BootState::kPending);
  json reply = ServerCall("RequestStartTransaction", RequestStart(1));
  EXPECT_EQ(reply[2]["status"], "Rejected");
  EXPECT_FALSE(charger_->transaction_active());
  Advance(19s);
  EXPECT_TRUE(NothingSent());
  Advance(1s);
  json again = NextCall("BootNotification");
  EXPECT_NE(again[1], boot[1]);
}

TEST_F(ChargerTest, RejectedStationAnswersCallsWithSecurityError) {
  Make();
  charger_->OnConnected();
  Answer(NextCall("BootNotification"),
         {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", 60}, {"status", "Rejected"}});
  json reply = ServerCall("RequestStartTransaction", RequestStart(1));
  EXPECT_EQ(reply[0], 4);
  EXPECT_EQ(reply[2], "SecurityError");
  Advance(60s);
  NextCall("BootNotification");
}

TEST_F(ChargerTest, OnlyOneCallInFlightButServerCallsAreAnsweredAtOnce) {
  Make();
  charger_->OnConnected();
  json boot = NextCall("BootNotification");
  Answer(boot, {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", 30}, {"status", "Accepted"}});
  json status = NextCall("StatusNotification");  // left unanswered for now
  EXPECT_TRUE(charger_->call_in_flight());

  json reply = ServerCall("TriggerMessage", {{"requestedMessage", "Heartbeat"}});
  EXPECT_EQ(reply[2], json({{"status", "Accepted"}}));
  EXPECT_TRUE(NothingSent());  // the Heartbeat waits for the StatusNotification's answer
  EXPECT_EQ(charger_->queued_calls(), 1u);

  Answer(status, json::object());
  json heartbeat = NextCall("Heartbeat");
  EXPECT_TRUE(NothingSent());
  // A reply with a stale id changes nothing.
  Answer(status, json::object());
  EXPECT_TRUE(charger_->call_in_flight());
  Answer(heartbeat, {{"currentTime", "2026-03-01T09:00:00Z"}});
  EXPECT_FALSE(charger_->call_in_flight());
}

TEST_F(ChargerTest, UnansweredCallTimesOutAfter30Seconds) {
  Make();
  charger_->OnConnected();
  Answer(NextCall("BootNotification"),
         {{"currentTime", "2026-03-01T09:00:00Z"}, {"interval", 300}, {"status", "Accepted"}});
  NextCall("StatusNotification");
  ServerCall("TriggerMessage", {{"requestedMessage", "Heartbeat"}});
  Advance(29s);
  EXPECT_TRUE(NothingSent());
  Advance(1s);
  NextCall("Heartbeat");
}

TEST_F(ChargerTest, RemoteStartSendsStartedWithRemoteStartIdAndIdToken) {
  Make();
  BootAccepted();
  json started = StartCharging(42);
  const json& body = started[3];
  EXPECT_EQ(body["eventType"], "Started");
  EXPECT_EQ(body["triggerReason"], "RemoteStart");
  EXPECT_EQ(body["seqNo"], 0);
  EXPECT_EQ(body["timestamp"], "2026-03-01T09:00:00Z");
  EXPECT_EQ(body["transactionInfo"]["remoteStartId"], 42);
  EXPECT_EQ(body["transactionInfo"]["chargingState"], "Charging");
  const std::string tx_id = body["transactionInfo"]["transactionId"];
  EXPECT_EQ(tx_id.size(), 36u);
  EXPECT_EQ(tx_id, charger_->transaction_id());
  EXPECT_EQ(body["evse"], json({{"id", 1}, {"connectorId", 1}}));
  EXPECT_EQ(body["idToken"], json({{"idToken", "user_123"}, {"type", "Central"}}));
  const json& sample = body["meterValue"][0]["sampledValue"][0];
  EXPECT_EQ(sample["context"], "Transaction.Begin");
  EXPECT_EQ(sample["measurand"], "Energy.Active.Import.Register");
  EXPECT_EQ(sample["value"], 1000);
  EXPECT_EQ(sample["unitOfMeasure"]["unit"], "Wh");
  EXPECT_FALSE(body.contains("offline"));
}

TEST_F(ChargerTest, PeriodicUpdatesCountSeqNoAndEnergyUp) {
  Make();
  BootAccepted();
  json started = StartCharging();
  Answer(started, json::object());
  double last_energy = EnergyOf(started);
  for (int i = 1; i <= 4; ++i) {
    Advance(4s);
    EXPECT_TRUE(NothingSent());
    Advance(1s);
    json updated = NextCall("TransactionEvent");
    EXPECT_EQ(updated[3]["eventType"], "Updated");
    EXPECT_EQ(updated[3]["triggerReason"], "MeterValuePeriodic");
    EXPECT_EQ(updated[3]["seqNo"], i);
    EXPECT_FALSE(updated[3].contains("evse"));     // only in the first event
    EXPECT_FALSE(updated[3].contains("idToken"));  // only once per authorization
    EXPECT_FALSE(updated[3]["transactionInfo"].contains("remoteStartId"));
    EXPECT_EQ(PowerOf(updated), 100000);
    // 100 kW for 5 s = 138.9 Wh per interval.
    EXPECT_NEAR(EnergyOf(updated), 1000 + i * 100000.0 * 5 / 3600, 0.5);
    EXPECT_GT(EnergyOf(updated), last_energy);
    last_energy = EnergyOf(updated);
    Answer(updated, json::object());
  }
}

TEST_F(ChargerTest, EnergySpeedupMultipliesEnergyButNotPower) {
  ChargerOptions options = DefaultOptions();
  options.energy_speedup = 60;
  Make(options);
  BootAccepted();
  Answer(StartCharging(), json::object());
  Advance(5s);
  json updated = NextCall("TransactionEvent");
  EXPECT_EQ(PowerOf(updated), 100000);
  EXPECT_NEAR(EnergyOf(updated), 1000 + 100000.0 * 5 / 3600 * 60, 0.5);
}

TEST_F(ChargerTest, ChargingLimitCapsPowerAndReportsTheChange) {
  Make();
  BootAccepted();
  Answer(StartCharging(), json::object());
  Advance(3s);  // 3 s at 100 kW
  json reply = ServerCall("SetChargingProfile", Profile("ChargingStationMaxProfile", "W", 50000));
  EXPECT_EQ(reply[2], json({{"status", "Accepted"}}));
  json changed = NextCall("TransactionEvent");
  EXPECT_EQ(changed[3]["triggerReason"], "ChargingRateChanged");
  EXPECT_EQ(changed[3]["seqNo"], 1);
  EXPECT_EQ(PowerOf(changed), 50000);
  EXPECT_NEAR(EnergyOf(changed), 1000 + 100000.0 * 3 / 3600, 0.5);
  Answer(changed, json::object());
  Advance(2s);  // then 2 s at 50 kW
  json updated = NextCall("TransactionEvent");
  EXPECT_EQ(PowerOf(updated), 50000);
  EXPECT_NEAR(EnergyOf(updated), 1000 + 100000.0 * 3 / 3600 + 50000.0 * 2 / 3600, 0.5);
  Answer(updated, json::object());

  // 16 A on 3 phases at 230 V = 11.04 kW, below the 50 kW station maximum.
  reply = ServerCall("SetChargingProfile", Profile("TxDefaultProfile", "A", 16, 1));
  EXPECT_EQ(reply[2]["status"], "Accepted");
  EXPECT_EQ(charger_->current_power_w(), 11040);
  EXPECT_EQ(PowerOf(NextCall("TransactionEvent")), 11040);
}

TEST_F(ChargerTest, InvalidProfilesAreRejected) {
  Make();
  BootAccepted();
  // K01.FR.22: a CSMS never sets ChargingStationExternalConstraints.
  json reply =
      ServerCall("SetChargingProfile", Profile("ChargingStationExternalConstraints", "W", 1000));
  EXPECT_EQ(reply[2]["status"], "Rejected");
  reply = ServerCall("SetChargingProfile", Profile("ChargingStationMaxProfile", "W", 1000, 1));
  EXPECT_EQ(reply[2]["status"], "Rejected");  // station maximum is for evseId 0 only
  reply = ServerCall("SetChargingProfile", Profile("TxProfile", "W", 1000, 1));
  EXPECT_EQ(reply[2]["status"], "Rejected");  // no transaction
  reply = ServerCall("SetChargingProfile", Profile("TxDefaultProfile", "kW", 1000));
  EXPECT_EQ(reply[2]["status"], "Rejected");
  json bad = Profile("TxDefaultProfile", "W", 1000);
  bad["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"] = json::array();
  EXPECT_EQ(ServerCall("SetChargingProfile", bad)[2]["status"], "Rejected");
  reply = ServerCall("SetChargingProfile", {{"evseId", 0}});
  EXPECT_EQ(reply[0], 4);
  EXPECT_EQ(reply[2], "OccurrenceConstraintViolation");
  EXPECT_EQ(charger_->current_power_w(), 0);
}

TEST_F(ChargerTest, LimitSetBeforeStartAppliesToTheTransaction) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("SetChargingProfile", Profile("TxDefaultProfile", "W", 22000))[2]["status"],
            "Accepted");
  Answer(StartCharging(), json::object());
  Advance(5s);
  EXPECT_EQ(PowerOf(NextCall("TransactionEvent")), 22000);
}

TEST_F(ChargerTest, TxProfileEndsWithItsTransaction) {
  Make();
  BootAccepted();
  Answer(StartCharging(1), json::object());
  json profile = Profile("TxProfile", "W", 7000, 1);
  profile["chargingProfile"]["transactionId"] = charger_->transaction_id();
  EXPECT_EQ(ServerCall("SetChargingProfile", profile)[2]["status"], "Accepted");
  EXPECT_EQ(charger_->current_power_w(), 7000);
  Answer(NextCall("TransactionEvent"), json::object());
  ServerCall("RequestStopTransaction", {{"transactionId", charger_->transaction_id()}});
  Answer(NextCall("TransactionEvent"), json::object());
  Answer(NextCall("StatusNotification"), json::object());
  Answer(StartCharging(2), json::object());
  EXPECT_EQ(charger_->current_power_w(), 100000);
}

TEST_F(ChargerTest, RemoteStopSendsEndedThenAvailable) {
  Make();
  BootAccepted();
  Answer(StartCharging(), json::object());
  const std::string tx_id = charger_->transaction_id();
  Advance(5s);
  Answer(NextCall("TransactionEvent"), json::object());
  Advance(2s);

  json reply = ServerCall("RequestStopTransaction", {{"transactionId", "not-this-one"}});
  EXPECT_EQ(reply[2], json({{"status", "Rejected"}}));
  EXPECT_TRUE(NothingSent());
  reply = ServerCall("RequestStopTransaction", {{"transactionId", tx_id}});
  EXPECT_EQ(reply[2], json({{"status", "Accepted"}}));

  json ended = NextCall("TransactionEvent");
  const json& body = ended[3];
  EXPECT_EQ(body["eventType"], "Ended");
  EXPECT_EQ(body["triggerReason"], "RemoteStop");
  EXPECT_EQ(body["seqNo"], 2);
  EXPECT_EQ(body["transactionInfo"]["transactionId"], tx_id);
  EXPECT_EQ(body["transactionInfo"]["stoppedReason"], "Remote");
  EXPECT_EQ(body["transactionInfo"]["chargingState"], "EVConnected");
  const json& sample = body["meterValue"][0]["sampledValue"][0];
  EXPECT_EQ(sample["context"], "Transaction.End");
  EXPECT_NEAR(sample["value"].get<double>(), 1000 + 100000.0 * 7 / 3600, 0.5);
  EXPECT_FALSE(charger_->transaction_active());
  Answer(ended, {{"totalCost", 29.17}});

  json available = NextCall("StatusNotification");
  EXPECT_EQ(available[3]["connectorStatus"], "Available");
  Answer(available, json::object());
  Advance(5s);
  EXPECT_TRUE(NothingSent());  // no more meter values
}

TEST_F(ChargerTest, SecondStartWhileChargingIsRejected) {
  Make();
  BootAccepted();
  Answer(StartCharging(1), json::object());
  json reply = ServerCall("RequestStartTransaction", RequestStart(2));
  EXPECT_EQ(reply[2]["status"], "Rejected");
  EXPECT_TRUE(NothingSent());
}

TEST_F(ChargerTest, SeqNoStartsAtZeroForEachTransaction) {
  Make();
  BootAccepted();
  Answer(StartCharging(1), json::object());
  std::string first = charger_->transaction_id();
  ServerCall("RequestStopTransaction", {{"transactionId", first}});
  Answer(NextCall("TransactionEvent"), json::object());
  Answer(NextCall("StatusNotification"), json::object());
  json started = StartCharging(2);
  EXPECT_EQ(started[3]["seqNo"], 0);
  EXPECT_NE(started[3]["transactionInfo"]["transactionId"], first);
}

TEST_F(ChargerTest, SeedDialectBodies) {
  ChargerOptions options = DefaultOptions();
  options.dialect = Dialect::kSeed;
  options.seed_price_per_kwh = 150;
  // 100 kW x 5 s x 183.6 = 25.5 kWh: the seed guide's example session.
  options.energy_speedup = 183.6;
  Make(options);
  BootAccepted();
  json started = StartCharging(42);
  const std::set<std::string> top = {"eventType", "timestamp", "triggerReason", "seqNo",
                                     "transactionData"};
  EXPECT_EQ(Keys(started[3]), top);
  EXPECT_EQ(started[3]["eventType"], "Started");
  EXPECT_EQ(started[3]["seqNo"], 0);
  EXPECT_EQ(Keys(started[3]["transactionData"]),
            (std::set<std::string>{"transactionId", "chargingPeriods"}));
  EXPECT_EQ(started[3]["transactionData"]["transactionId"], charger_->transaction_id());
  EXPECT_EQ(started[3]["transactionData"]["chargingPeriods"], json::parse(R"([{"dimensions":[
      {"name":"Energy.Active.Import.Register","value":0},
      {"name":"Power.Active.Import","value":100000}]}])"));
  Answer(started, {{"eventType", "Started"}, {"transactionId", charger_->transaction_id()}});

  Advance(5s);
  json updated = NextCall("TransactionEvent");
  EXPECT_EQ(Keys(updated[3]), top);
  EXPECT_EQ(updated[3]["eventType"], "Updated");
  EXPECT_EQ(updated[3]["seqNo"], 1);
  EXPECT_EQ(updated[3]["transactionData"]["chargingPeriods"][0]["dimensions"][0],
            json::parse(R"({"name":"Energy.Active.Import.Register","value":25500})"));
  EXPECT_EQ(updated[3]["transactionData"]["totalCost"], 3825.0);
  Answer(updated, json::object());

  ServerCall("RequestStopTransaction", {{"transactionId", charger_->transaction_id()}});
  json ended = NextCall("TransactionEvent");
  EXPECT_EQ(Keys(ended[3]), top);
  const json& data = ended[3]["transactionData"];
  EXPECT_EQ(Keys(data), (std::set<std::string>{"transactionId", "chargingPeriods", "totalCost",
                                               "stoppedReason"}));
  EXPECT_EQ(data["stoppedReason"], "Remote");
  EXPECT_EQ(data["totalCost"], 3825.0);
  // The seed server reads dimensions[0] as the energy of the session.
  EXPECT_EQ(data["chargingPeriods"][0]["dimensions"][0]["value"].get<double>() / 1000, 25.5);
  EXPECT_EQ(ended[3]["seqNo"], 2);
  Answer(ended, json::object());
  EXPECT_EQ(NextCall("StatusNotification")[3]["connectorStatus"], "Available");
}

TEST_F(ChargerTest, SeedDialectLeavesOutTotalCostWithoutAPrice) {
  ChargerOptions options = DefaultOptions();
  options.dialect = Dialect::kSeed;
  Make(options);
  BootAccepted();
  Answer(StartCharging(), json::object());
  ServerCall("RequestStopTransaction", {{"transactionId", charger_->transaction_id()}});
  json ended = NextCall("TransactionEvent");
  EXPECT_FALSE(ended[3]["transactionData"].contains("totalCost"));
}

TEST_F(ChargerTest, SeedServerStartWithoutRemoteStartIdIsAccepted) {
  Make();
  BootAccepted();
  // The seed guide's RequestStartTransaction payload, verbatim.
  json reply = ServerCall("RequestStartTransaction",
                          json::parse(R"({"idToken":{"idToken":"user_123","type":"Central"},
                              "evseId":1,"connectorId":1,"requestedPower":100})"));
  EXPECT_EQ(reply[2]["status"], "Accepted");
  Answer(NextCall("StatusNotification"), json::object());
  json started = NextCall("TransactionEvent");
  EXPECT_FALSE(started[3]["transactionInfo"].contains("remoteStartId"));
}

TEST_F(ChargerTest, UnsupportedAndUnknownActionsAndBadFrames) {
  Make();
  BootAccepted();
  json reply = ServerCall("GetLocalListVersion", json::object());
  EXPECT_EQ(reply[0], 4);
  EXPECT_EQ(reply[2], "NotSupported");
  EXPECT_EQ(reply[4], json::object());
  reply = ServerCall("MakeCoffee", json::object());
  EXPECT_EQ(reply[2], "NotImplemented");
  reply = ServerCall("RequestStopTransaction", json::object());
  EXPECT_EQ(reply[2], "OccurrenceConstraintViolation");
  reply = ServerCall("RequestStartTransaction", {{"idToken", "user_123"}, {"remoteStartId", 1}});
  EXPECT_EQ(reply[2], "TypeConstraintViolation");

  charger_->OnMessage("not json");
  json error = Next();
  EXPECT_EQ(error, json::parse(R"([4,"-1","RpcFrameworkError","message is not valid JSON",{}])"));
  charger_->OnMessage(R"([3,"nobody-asked",{}])");
  EXPECT_TRUE(NothingSent());  // never answer a reply
}

TEST_F(ChargerTest, FailedTransactionEventIsRetriedInOrder) {
  Make();
  BootAccepted();
  json started = StartCharging();
  AnswerError(started, "InternalError");
  EXPECT_TRUE(NothingSent());
  Advance(5s);  // an Updated is queued behind the failed Started
  EXPECT_TRUE(NothingSent());
  Advance(5s);  // retry after 10 s x 1 transmission
  json again = NextCall("TransactionEvent");
  EXPECT_EQ(again[3], started[3]);
  EXPECT_NE(again[1], started[1]);
  Answer(again, json::object());
  json updated = NextCall("TransactionEvent");
  EXPECT_EQ(updated[3]["seqNo"], 1);
}

TEST_F(ChargerTest, TransactionEventIsDiscardedAfterThreeAttempts) {
  ChargerOptions options = DefaultOptions();
  options.meter_interval = 0s;
  Make(options);
  BootAccepted(3600);
  json started = StartCharging();
  AnswerError(started, "InternalError");
  Advance(10s);
  AnswerError(NextCall("TransactionEvent"), "InternalError");
  Advance(20s);
  AnswerError(NextCall("TransactionEvent"), "InternalError");
  Advance(600s);
  EXPECT_TRUE(NothingSent());
  EXPECT_EQ(charger_->queued_calls(), 0u);
}

TEST_F(ChargerTest, ReconnectKeepsBootAndTransactionAndResendsQueuedEvents) {
  Make();
  BootAccepted(30);
  Answer(StartCharging(), json::object());
  Advance(5s);
  json in_flight = NextCall("TransactionEvent");  // seqNo 1, lost with the connection
  charger_->OnDisconnected();
  Advance(5s);  // seqNo 2 while offline
  EXPECT_TRUE(NothingSent());

  charger_->OnConnected();
  json status = NextCall("StatusNotification");  // no second BootNotification
  EXPECT_EQ(status[3]["connectorStatus"], "Occupied");
  Answer(status, json::object());
  json resent = NextCall("TransactionEvent");
  EXPECT_EQ(resent[3]["seqNo"], 1);
  EXPECT_EQ(resent[3]["offline"], true);
  Answer(resent, json::object());
  json offline = NextCall("TransactionEvent");
  EXPECT_EQ(offline[3]["seqNo"], 2);
  EXPECT_EQ(offline[3]["offline"], true);
  EXPECT_GT(EnergyOf(offline), EnergyOf(resent));
  Answer(offline, json::object());
  Advance(5s);
  json online = NextCall("TransactionEvent");
  EXPECT_EQ(online[3]["seqNo"], 3);
  EXPECT_FALSE(online[3].contains("offline"));
  EXPECT_TRUE(charger_->transaction_active());
}

TEST_F(ChargerTest, DisconnectBeforeBootAnswerSendsBootAgain) {
  Make();
  charger_->OnConnected();
  NextCall("BootNotification");
  charger_->OnDisconnected();
  charger_->OnConnected();
  NextCall("BootNotification");
}

TEST_F(ChargerTest, TriggerMessageAndGetTransactionStatus) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("TriggerMessage", {{"requestedMessage", "BootNotification"}})[2]["status"],
            "Rejected");  // F06.FR.17: already accepted
  json reply = ServerCall("TriggerMessage", {{"requestedMessage", "StatusNotification"},
                                             {"evse", {{"id", 1}, {"connectorId", 1}}}});
  EXPECT_EQ(reply[2]["status"], "Accepted");
  Answer(NextCall("StatusNotification"), json::object());

  json started = StartCharging();  // unanswered, so still queued in the station
  const std::string tx_id = charger_->transaction_id();
  reply = ServerCall("GetTransactionStatus", {{"transactionId", tx_id}});
  EXPECT_EQ(reply[2], json({{"messagesInQueue", true}, {"ongoingIndicator", true}}));
  Answer(started, json::object());
  reply = ServerCall("GetTransactionStatus", {{"transactionId", "other"}});
  EXPECT_EQ(reply[2], json({{"messagesInQueue", false}, {"ongoingIndicator", false}}));

  reply = ServerCall("TriggerMessage", {{"requestedMessage", "TransactionEvent"}});
  EXPECT_EQ(reply[2]["status"], "Accepted");
  EXPECT_EQ(NextCall("TransactionEvent")[3]["triggerReason"], "Trigger");
}

TEST_F(ChargerTest, MessageIdsStayUniqueAcrossChargers) {
  // Two chargers with random seeds must not collide (the CSMS may track ids per station).
  ChargerOptions options = DefaultOptions();
  options.random_seed = 0;
  Charger a(options, clock_);
  Charger b(options, clock_);
  a.OnConnected();
  b.OnConnected();
  EXPECT_NE(json::parse(a.TakeOutgoing()[0])[1], json::parse(b.TakeOutgoing()[0])[1]);
}

// ---- A01: SetVariables SecurityCtrlr.BasicAuthPassword ----------------------------------------

json PasswordEntry(const std::string& value) {
  return {{"attributeValue", value},
          {"component", {{"name", "SecurityCtrlr"}}},
          {"variable", {{"name", "BasicAuthPassword"}}}};
}

json SetVariables(const std::vector<json>& entries) { return {{"setVariableData", entries}}; }

TEST_F(ChargerTest, SetVariablesAcceptsAValidPasswordAndAsksForAReconnect) {
  Make();
  BootAccepted(30);
  const std::string password = "New-Pass_word:+|@.*=0123";
  json request = SetVariables({PasswordEntry(password)});
  ExpectValid("SetVariables", ocpp::PayloadKind::kRequest, request);
  json reply = ServerCall("SetVariables", request);
  ASSERT_EQ(reply[0], 3) << reply.dump();
  EXPECT_EQ(reply[2], json::parse(R"({"setVariableResult":[{"attributeStatus":"Accepted",
      "component":{"name":"SecurityCtrlr"},"variable":{"name":"BasicAuthPassword"}}]})"));
  EXPECT_TRUE(charger_->reconnect_pending());
  EXPECT_EQ(charger_->TakeNewPassword(), password);
  EXPECT_EQ(charger_->TakeNewPassword(), std::nullopt);  // handed out once

  // No CALL may start on a connection that is about to close.
  Advance(30s);
  EXPECT_TRUE(NothingSent());
  EXPECT_FALSE(charger_->call_in_flight());

  // After the reconnect: the usual reconnect messages, and the queue moves again.
  charger_->OnDisconnected();
  EXPECT_FALSE(charger_->reconnect_pending());
  charger_->OnConnected();
  Answer(NextCall("StatusNotification"), json::object());
  Advance(30s);
  NextCall("Heartbeat");
}

TEST_F(ChargerTest, SetVariablesPasswordLengthAndCharacterLimits) {
  Make();
  BootAccepted();
  struct Case {
    std::string value;
    const char* status;
  };
  const std::vector<Case> cases = {
      {std::string(15, 'a'), "Rejected"},  // too short
      {std::string(16, 'a'), "Accepted"},
      {std::string(40, 'Z'), "Accepted"},
      {std::string(41, 'Z'), "Rejected"},  // too long
      {std::string(1001, 'Z'), "Rejected"},
      {"abcdefghijklmno p", "Rejected"},  // space
      {"abcdefghijklmnop#", "Rejected"},
      {"abcdefghijklmnop\"", "Rejected"},
      {"abcdefghijklmn\xc3\xa4", "Rejected"},  // 16 bytes, but not ASCII
      {"", "Rejected"},
  };
  for (const Case& c : cases) {
    json reply = ServerCall("SetVariables", SetVariables({PasswordEntry(c.value)}));
    ASSERT_EQ(reply[0], 3) << reply.dump();
    const json& result = reply[2]["setVariableResult"][0];
    EXPECT_EQ(result["attributeStatus"], c.status) << c.value;
    if (std::string(c.status) == "Rejected") {
      EXPECT_EQ(result["attributeStatusInfo"]["reasonCode"], "InvalidValue");
      EXPECT_EQ(charger_->TakeNewPassword(), std::nullopt) << c.value;
    } else {
      EXPECT_EQ(charger_->TakeNewPassword(), c.value);
    }
  }
}

TEST_F(ChargerTest, SetVariablesRejectedPasswordChangesNothing) {
  Make();
  BootAccepted(30);
  json reply = ServerCall("SetVariables", SetVariables({PasswordEntry("short")}));
  EXPECT_EQ(reply[2]["setVariableResult"][0]["attributeStatus"], "Rejected");
  EXPECT_FALSE(charger_->reconnect_pending());
  EXPECT_EQ(charger_->TakeNewPassword(), std::nullopt);
  Advance(30s);
  NextCall("Heartbeat");  // the connection stays and keeps working
}

TEST_F(ChargerTest, SetVariablesUnknownComponentVariableAndAttributeType) {
  Make();
  BootAccepted();
  auto status_of = [&](const json& entry) {
    json reply = ServerCall("SetVariables", SetVariables({entry}));
    EXPECT_EQ(reply[0], 3) << reply.dump();
    return reply[2]["setVariableResult"][0]["attributeStatus"].get<std::string>();
  };
  const std::string good = "abcdefghijklmnop";
  json entry = PasswordEntry(good);
  entry["component"]["name"] = "CoffeeCtrlr";
  EXPECT_EQ(status_of(entry), "UnknownComponent");
  entry["component"]["name"] = "OCPPCommCtrlr";  // a component of the station, but not its variable
  EXPECT_EQ(status_of(entry), "UnknownVariable");
  entry = PasswordEntry(good);
  entry["component"]["instance"] = "second";
  EXPECT_EQ(status_of(entry), "UnknownComponent");
  entry = PasswordEntry(good);
  entry["component"]["evse"] = {{"id", 1}};
  EXPECT_EQ(status_of(entry), "UnknownComponent");
  entry = PasswordEntry(good);
  entry["variable"]["name"] = "OrganizationName";
  EXPECT_EQ(status_of(entry), "UnknownVariable");
  entry = PasswordEntry("2");
  entry["variable"]["name"] = "SecurityProfile";  // reported, not changed over OCPP here
  EXPECT_EQ(status_of(entry), "Rejected");
  entry = PasswordEntry(good);
  entry["attributeType"] = "Target";
  EXPECT_EQ(status_of(entry), "NotSupportedAttributeType");
  EXPECT_EQ(charger_->TakeNewPassword(), std::nullopt);
  EXPECT_FALSE(charger_->reconnect_pending());

  // Names are case-insensitive in OCPP; an explicit Actual is the default.
  entry = PasswordEntry(good);
  entry["component"]["name"] = "securityctrlr";
  entry["variable"]["name"] = "BASICAUTHPASSWORD";
  entry["attributeType"] = "Actual";
  EXPECT_EQ(status_of(entry), "Accepted");
  EXPECT_EQ(charger_->TakeNewPassword(), good);
}

TEST_F(ChargerTest, SetVariablesAnswersEveryEntryInOrder) {
  Make();
  BootAccepted();
  json other = {{"attributeValue", "60"},
                {"attributeType", "Actual"},
                {"component", {{"name", "OCPPCommCtrlr"}}},
                {"variable", {{"name", "HeartbeatInterval"}}}};
  json wrong_variable = PasswordEntry("abcdefghijklmnop");
  wrong_variable["variable"] = {{"name", "BasicAuthPassword"}, {"instance", "old"}};
  json reply = ServerCall("SetVariables",
                          SetVariables({PasswordEntry("bad!password!value"), other, wrong_variable,
                                        PasswordEntry("first-valid-password"),
                                        PasswordEntry("second-valid-password")}));
  ASSERT_EQ(reply[0], 3) << reply.dump();
  const json& results = reply[2]["setVariableResult"];
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0]["attributeStatus"], "Rejected");
  EXPECT_EQ(results[1]["attributeStatus"], "Accepted");  // the device model knows it
  EXPECT_EQ(results[1]["attributeType"], "Actual");
  EXPECT_EQ(results[1]["component"], other["component"]);
  EXPECT_EQ(results[1]["variable"], other["variable"]);
  EXPECT_EQ(results[2]["attributeStatus"], "UnknownVariable");
  EXPECT_EQ(results[2]["variable"], wrong_variable["variable"]);
  EXPECT_EQ(results[3]["attributeStatus"], "Accepted");
  EXPECT_EQ(results[4]["attributeStatus"], "Accepted");
  EXPECT_EQ(charger_->TakeNewPassword(), "second-valid-password");  // the last one wins
}

TEST_F(ChargerTest, SetVariablesMalformedRequestsGetCallErrors) {
  Make();
  BootAccepted();
  EXPECT_EQ(ServerCall("SetVariables", json::object())[2], "OccurrenceConstraintViolation");
  EXPECT_EQ(ServerCall("SetVariables", {{"setVariableData", json::array()}})[2],
            "TypeConstraintViolation");
  json no_value = PasswordEntry("abcdefghijklmnop");
  no_value.erase("attributeValue");
  EXPECT_EQ(ServerCall("SetVariables", SetVariables({no_value}))[2],
            "OccurrenceConstraintViolation");
  json no_name = PasswordEntry("abcdefghijklmnop");
  no_name["variable"] = json::object();
  // A valid entry before a broken one must not be applied: the whole CALL fails.
  EXPECT_EQ(
      ServerCall("SetVariables", SetVariables({PasswordEntry("abcdefghijklmnop"), no_name}))[2],
      "OccurrenceConstraintViolation");
  json bad_type = PasswordEntry("abcdefghijklmnop");
  bad_type["attributeType"] = "Maximum";
  EXPECT_EQ(ServerCall("SetVariables", SetVariables({bad_type}))[2], "PropertyConstraintViolation");
  bad_type["attributeType"] = 1;
  EXPECT_EQ(ServerCall("SetVariables", SetVariables({bad_type}))[2], "PropertyConstraintViolation");
  json number_name = PasswordEntry("abcdefghijklmnop");
  number_name["component"]["name"] = 7;
  EXPECT_EQ(ServerCall("SetVariables", SetVariables({number_name}))[2], "TypeConstraintViolation");
  EXPECT_EQ(ServerCall("SetVariables", {{"setVariableData", "x"}})[2], "TypeConstraintViolation");
  EXPECT_EQ(ServerCall("SetVariables", {{"setVariableData", {1}}})[2], "TypeConstraintViolation");
  EXPECT_EQ(charger_->TakeNewPassword(), std::nullopt);
  EXPECT_FALSE(charger_->reconnect_pending());
}

TEST_F(ChargerTest, SetVariablesNeverLogsThePassword) {
  const log::Level before = log::CurrentLevel();
  ASSERT_TRUE(log::SetLevel("debug"));
  Make();
  BootAccepted();
  const std::string password = "Very-Secret-Password-123";
  ::testing::internal::CaptureStderr();
  ServerCall("SetVariables", SetVariables({PasswordEntry(password)}));
  ServerCall("SetVariables", SetVariables({PasswordEntry(password + "#")}));  // rejected
  json number_name = PasswordEntry(password);
  number_name["variable"]["name"] = 7;  // the redaction must not throw on it
  EXPECT_EQ(ServerCall("SetVariables", SetVariables({number_name}))[2], "TypeConstraintViolation");
  const std::string logged = ::testing::internal::GetCapturedStderr();
  log::SetLevel(before == log::Level::kDebug  ? "debug"
                : before == log::Level::kInfo ? "info"
                : before == log::Level::kWarn ? "warn"
                                              : "error");
  EXPECT_NE(logged.find("SetVariables"), std::string::npos) << logged;  // debug really was on
  EXPECT_EQ(logged.find("Very-Secret"), std::string::npos) << logged;
}

}  // namespace
}  // namespace csms::sim
