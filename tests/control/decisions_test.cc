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

namespace csms::control {
namespace {

// Per-EVSE live state (issue 16): each EVSE its own status and transaction.
TEST(DeriveEvseViews, CaseTable) {
  const LiveTransaction a{"tx-a", 1, "Charging", 7400, 3.5};
  const LiveTransaction b{"tx-b", 2, "SuspendedEV", 0, 12.25};
  const LiveTransaction stale{"tx-old", 1, "Charging", 1000, 1};  // never ended, older
  struct Case {
    const char* name;
    bool connected;
    std::vector<int> evses;
    std::vector<std::string> statuses;
    std::vector<LiveTransaction> live;                                    // newest first
    std::vector<std::tuple<int, std::string, std::string, double>> want;  // id, status, tx, kWh
  };
  const Case cases[] = {
      {"two EVSEs, two transactions",
       true,
       {1, 2},
       {"Occupied", "Occupied"},
       {b, a},
       {{1, "Charging", "tx-a", 3.5}, {2, "SuspendedEV", "tx-b", 12.25}}},
      {"one busy, one free",
       true,
       {1, 2},
       {"Occupied", "Available"},
       {a},
       {{1, "Charging", "tx-a", 3.5}, {2, "Available", "", 0}}},
      {"the newest of two unended transactions on one EVSE",
       true,
       {1},
       {"Occupied"},
       {a, stale},
       {{1, "Charging", "tx-a", 3.5}}},
      {"two connectors on one EVSE: the most severe",
       true,
       {1, 1},
       {"Available", "Faulted"},
       {},
       {{1, "Faulted", "", 0}}},
      {"EVSE 0 is the charger, not an EVSE",
       true,
       {0, 1},
       {"Unavailable", "Available"},
       {},
       {{1, "Available", "", 0}}},
      {"a transaction on an EVSE never reported",
       true,
       {},
       {},
       {b},
       {{2, "SuspendedEV", "tx-b", 12.25}}},
      {"a seed-dialect transaction (no EVSE) runs on the only EVSE",
       true,
       {1},
       {"Occupied"},
       {{"tx-seed", 0, "Charging", 100000, 0.278}},
       {{1, "Charging", "tx-seed", 0.278}}},
      {"with two EVSEs it shows only at the top",
       true,
       {1, 2},
       {"Occupied", "Available"},
       {{"tx-seed", 0, "Charging", 100000, 0.278}},
       {{1, "Occupied", "", 0}, {2, "Available", "", 0}}},
      {"offline",
       false,
       {1, 2},
       {"Occupied", "Available"},
       {a},
       {{1, "Offline", "tx-a", 3.5}, {2, "Offline", "", 0}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<EvseView> views = DeriveEvseViews(c.connected, c.evses, c.statuses, c.live);
    ASSERT_EQ(views.size(), c.want.size());
    for (size_t i = 0; i < views.size(); ++i) {
      EXPECT_EQ(views[i].evse_id, std::get<0>(c.want[i]));
      EXPECT_EQ(views[i].status, std::get<1>(c.want[i]));
      EXPECT_EQ(views[i].transaction_id, std::get<2>(c.want[i]));
      EXPECT_DOUBLE_EQ(views[i].energy_kwh, std::get<3>(c.want[i]));
    }
  }
}

}  // namespace
}  // namespace csms::control
