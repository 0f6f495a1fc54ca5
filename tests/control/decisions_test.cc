#include "csms/control/decisions.h"

#include <gtest/gtest.h>

#include <set>

namespace csms::control {
namespace {

using nlohmann::json;

std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

TEST(DeriveChargerStatus, OfflineWinsOverEverything) {
  EXPECT_EQ(DeriveChargerStatus({false, true, "Charging", {"Occupied"}}), "Offline");
  EXPECT_EQ(DeriveChargerStatus({false, false, "", {}}), "Offline");
}

TEST(DeriveChargerStatus, ActiveTransactionShowsItsChargingState) {
  for (const char* state : {"Charging", "EVConnected", "SuspendedEV", "SuspendedEVSE"}) {
    EXPECT_EQ(DeriveChargerStatus({true, true, state, {"Occupied"}}), state);
  }
}

TEST(DeriveChargerStatus, IdleOrMissingStateFallsBackToConnectors) {
  EXPECT_EQ(DeriveChargerStatus({true, true, "Idle", {"Occupied"}}), "Occupied");
  EXPECT_EQ(DeriveChargerStatus({true, true, "", {"Available"}}), "Available");
  // A charging state without an active transaction is stale.
  EXPECT_EQ(DeriveChargerStatus({true, false, "Charging", {"Available"}}), "Available");
}

TEST(DeriveChargerStatus, MostSevereConnectorWins) {
  EXPECT_EQ(DeriveChargerStatus({true, false, "", {"Available", "Faulted", "Occupied"}}),
            "Faulted");
  EXPECT_EQ(DeriveChargerStatus({true, false, "", {"Available", "Occupied", "Reserved"}}),
            "Occupied");
  EXPECT_EQ(DeriveChargerStatus({true, false, "", {"Unavailable", "Reserved"}}), "Reserved");
  EXPECT_EQ(DeriveChargerStatus({true, false, "", {"Available", "Unavailable"}}), "Unavailable");
  EXPECT_EQ(DeriveChargerStatus({true, false, "", {"Available", "Available"}}), "Available");
}

TEST(DeriveChargerStatus, UnknownWithoutReports) {
  EXPECT_EQ(DeriveChargerStatus({true, false, "", {}}), "Unknown");
  EXPECT_EQ(DeriveChargerStatus({true, false, "", {"SomethingElse"}}), "Unknown");
}

TEST(DecideBoot, AcceptsWithConfiguredInterval) {
  BootDecision d = DecideBoot("CP-1", 45);
  EXPECT_EQ(d.status, "Accepted");
  EXPECT_EQ(d.interval_seconds, 45);
}

TEST(EventApplies, EndedAlwaysApplies) {
  EXPECT_TRUE(EventApplies(true, false, 0, 10));
  EXPECT_TRUE(EventApplies(true, true, 0, 10));  // a retried Ended carries the same figures
}

TEST(EventApplies, LateOrStaleEventsDoNot) {
  EXPECT_TRUE(EventApplies(false, false, 0, -1));  // first event of a transaction
  EXPECT_TRUE(EventApplies(false, false, 3, 3));   // a duplicate changes nothing new
  EXPECT_TRUE(EventApplies(false, false, 4, 3));
  EXPECT_FALSE(EventApplies(false, false, 2, 3));  // older than what is shown
  EXPECT_FALSE(EventApplies(false, true, 9, 3));   // Updated after Ended
}

TEST(Payloads, RequestStartTransactionHasExactlyTheSchemaFields) {
  json p = ocpp::Encode(BuildRequestStartTransaction("TOKEN1", 42, 2));
  EXPECT_EQ(Keys(p), (std::set<std::string>{"idToken", "remoteStartId", "evseId"}));
  EXPECT_EQ(Keys(p["idToken"]), (std::set<std::string>{"idToken", "type"}));
  EXPECT_EQ(p["idToken"]["idToken"], "TOKEN1");
  EXPECT_EQ(p["idToken"]["type"], "Central");
  ASSERT_TRUE(p["remoteStartId"].is_number_integer());
  EXPECT_EQ(p["remoteStartId"], 42);
  ASSERT_TRUE(p["evseId"].is_number_integer());
  EXPECT_EQ(p["evseId"], 2);
}

TEST(Payloads, RequestStopTransaction) {
  json p = ocpp::Encode(BuildRequestStopTransaction("tx-9"));
  EXPECT_EQ(p, json({{"transactionId", "tx-9"}}));
}

TEST(Payloads, StationMaxProfileFollowsTheSmartChargingRules) {
  TimePoint now = *ParseRfc3339("2026-11-24T09:15:00.250Z");
  json p = ocpp::Encode(BuildStationMaxProfile(50000, now));
  EXPECT_EQ(Keys(p), (std::set<std::string>{"evseId", "chargingProfile"}));
  EXPECT_EQ(p["evseId"], 0);  // a station max profile is for EVSE 0 only

  const json& profile = p["chargingProfile"];
  EXPECT_EQ(Keys(profile), (std::set<std::string>{"id", "stackLevel", "chargingProfilePurpose",
                                                  "chargingProfileKind", "chargingSchedule"}));
  EXPECT_EQ(profile["id"], kStationMaxProfileId);
  EXPECT_EQ(profile["stackLevel"], 0);
  EXPECT_EQ(profile["chargingProfilePurpose"], "ChargingStationMaxProfile");
  EXPECT_NE(profile["chargingProfilePurpose"], "ChargingStationExternalConstraints");
  EXPECT_EQ(profile["chargingProfileKind"], "Absolute");
  ASSERT_TRUE(profile["chargingSchedule"].is_array());
  ASSERT_EQ(profile["chargingSchedule"].size(), 1u);

  const json& schedule = profile["chargingSchedule"][0];
  EXPECT_EQ(Keys(schedule), (std::set<std::string>{"id", "startSchedule", "chargingRateUnit",
                                                   "chargingSchedulePeriod"}));
  EXPECT_EQ(schedule["id"], 1);
  EXPECT_EQ(schedule["startSchedule"], "2026-11-24T09:15:00Z");
  EXPECT_EQ(schedule["chargingRateUnit"], "W");
  ASSERT_EQ(schedule["chargingSchedulePeriod"].size(), 1u);
  const json& period = schedule["chargingSchedulePeriod"][0];
  EXPECT_EQ(Keys(period), (std::set<std::string>{"startPeriod", "limit"}));
  EXPECT_EQ(period["startPeriod"], 0);
  EXPECT_DOUBLE_EQ(period["limit"].get<double>(), 50000.0);
}

TEST(Payloads, KilowattsToWattsAvoidsBinaryNoise) {
  EXPECT_EQ(json(KilowattsToWatts(7.4)).dump(), "7400.0");
  EXPECT_DOUBLE_EQ(KilowattsToWatts(50), 50000);
  EXPECT_DOUBLE_EQ(KilowattsToWatts(0.0111), 11.1);
}

TEST(RefusalReason, ReasonCodeAndAdditionalInfo) {
  using ocpp::v201::StatusInfo;
  EXPECT_EQ(RefusalReason(std::nullopt), "");
  EXPECT_EQ(RefusalReason(StatusInfo{{}, "Occupied", "EVSE busy"}), "Occupied: EVSE busy");
  EXPECT_EQ(RefusalReason(StatusInfo{{}, "Occupied", std::nullopt}), "Occupied");
  EXPECT_EQ(RefusalReason(StatusInfo{{}, "", "only info"}), "only info");
}

}  // namespace
}  // namespace csms::control
