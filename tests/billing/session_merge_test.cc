#include "csms/billing/session_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "billing_test_util.h"

namespace csms::billing {
namespace {

using namespace csms::billing::testing;
using std::chrono::minutes;

const Tariff kKrw150 = *MakeTariff(150, "KRW");

SessionState MergeAll(const std::vector<TransactionEvent>& events) {
  SessionState session;
  for (const auto& event : events) MergeEvent(event, kKrw150, &session);
  return session;
}

TEST(CostTest, SeedFigures) {
  EXPECT_EQ(CostHundredths(25'500, kKrw150), 382'500);  // 25.5 kWh × 150 = 3825.00
  EXPECT_EQ(CostHundredths(8'500, kKrw150), 127'500);   // the seed's in-progress 1275
}

TEST(CostTest, RoundsHalfUpToHundredths) {
  const Tariff cents = *MakeTariff(0.35, "EUR");
  EXPECT_EQ(CostHundredths(15, cents), 1);  // 0.00525 → 0.01
  EXPECT_EQ(CostHundredths(14, cents), 0);  // 0.0049 → 0.00
  EXPECT_EQ(CostHundredths(1000, cents), 35);
  EXPECT_EQ(CostHundredths(1, kKrw150), 15);  // 0.15
  EXPECT_EQ(CostHundredths(0, kKrw150), 0);
}

TEST(CostTest, NoFloatDriftForDecimalPrices) {
  // 0.1 and 0.7 have no exact binary form; the cost must still be exact.
  EXPECT_EQ(CostHundredths(3'000, *MakeTariff(0.1, "EUR")), 30);
  EXPECT_EQ(CostHundredths(10'000, *MakeTariff(0.7, "EUR")), 700);
  EXPECT_EQ(CostHundredths(123'456, *MakeTariff(0.29, "EUR")), 3580);  // 35.80224
}

TEST(CostTest, TariffRejectsNonsense) {
  EXPECT_FALSE(MakeTariff(-1, "KRW"));
  EXPECT_FALSE(MakeTariff(std::nan(""), "KRW"));
  EXPECT_FALSE(MakeTariff(INFINITY, "KRW"));
  EXPECT_TRUE(MakeTariff(0, "KRW"));
}

TEST(FormatScaledTest, ExactDecimalText) {
  EXPECT_EQ(FormatScaled(25'500, 3), "25.500");
  EXPECT_EQ(FormatScaled(382'500, 2), "3825.00");
  EXPECT_EQ(FormatScaled(5, 2), "0.05");
  EXPECT_EQ(FormatScaled(0, 3), "0.000");
  EXPECT_EQ(FormatScaled(-5, 2), "-0.05");
}

TEST(EnergyTest, LastRegisterMinusFirstAndNeverNegative) {
  const MeterReading first{1000, {0, At("2026-11-23T10:00:00Z")}};
  const MeterReading last{26'500, {2, At("2026-11-23T10:30:00Z")}};
  EXPECT_EQ(EnergyWh(first, last), 25'500);
  EXPECT_EQ(EnergyWh(last, first), 0);  // meter replaced or garbage: never negative
  EXPECT_EQ(EnergyWh(std::nullopt, last), 0);
  EXPECT_EQ(EnergyWh(MeterReading{1000.4, {}}, MeterReading{1001.6, {}}), 1);
}

TEST(MergeTest, SeedSessionInOrder) {
  const TimePoint start = At("2026-11-23T10:00:00Z");
  const SessionState s = MergeAll(SeedSession("cp1", "tx1", start));
  EXPECT_TRUE(s.started_seen);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.start_time, start);
  EXPECT_EQ(s.end_time, start + minutes(30));
  EXPECT_EQ(s.user_id, "user_123");
  EXPECT_EQ(s.stop_reason, "Local");  // absent stoppedReason means Local
  EXPECT_EQ(s.meter_start->wh, 1000);
  EXPECT_EQ(s.meter_stop->wh, 26'500);
  EXPECT_EQ(s.energy_wh, 25'500);
  EXPECT_EQ(s.cost_hundredths, 382'500);
  EXPECT_EQ(s.currency, "KRW");
  EXPECT_EQ(s.event_count, 3);
}

TEST(MergeTest, AnyArrivalOrderGivesTheSameSession) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  std::vector<TransactionEvent> events = {
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t, 1000),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, t + minutes(10), 9500),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 2, t + minutes(20), 20'000),
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 3, t + minutes(30), 26'500)};
  events[0].set_id_token("user_123");
  const SessionState expected = MergeAll(events);
  ASSERT_EQ(expected.energy_wh, 25'500);

  auto by_seq_no = [](const auto& a, const auto& b) { return a.seq_no() < b.seq_no(); };
  int orders = 0;
  do {
    const SessionState s = MergeAll(events);
    EXPECT_EQ(s.start_time, expected.start_time);
    EXPECT_EQ(s.end_time, expected.end_time);
    EXPECT_EQ(s.user_id, expected.user_id);
    EXPECT_EQ(s.meter_start->wh, expected.meter_start->wh);
    EXPECT_EQ(s.meter_stop->wh, expected.meter_stop->wh);
    EXPECT_EQ(s.energy_wh, expected.energy_wh);
    EXPECT_EQ(s.cost_hundredths, expected.cost_hundredths);
    ++orders;
  } while (std::next_permutation(events.begin(), events.end(), by_seq_no));
  EXPECT_EQ(orders, 24);
}

TEST(MergeTest, OutOfOrderRegistersUsePositionNotArrival) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  // The late-arriving seqNo 1 is not the last register just because it came last.
  const SessionState s =
      MergeAll({MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 5, t + minutes(50), 9000),
                MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 2, t + minutes(20), 4000),
                MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, t + minutes(10), 2000)});
  EXPECT_EQ(s.meter_start->wh, 2000);
  EXPECT_EQ(s.meter_stop->wh, 9000);
  EXPECT_EQ(s.energy_wh, 7000);
  EXPECT_EQ(s.start_time, t + minutes(10));  // no Started yet: the earliest event
}

TEST(MergeTest, SeedDialectTiesAreBrokenByTimestamp) {
  // The seed dialect has no seqNo: every Updated has order_key 1.
  const TimePoint t = At("2026-11-23T10:00:00Z");
  auto updated = [&](int minute, double wh) {
    auto e = MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, t + minutes(minute), wh);
    e.clear_seq_no();
    e.set_dedup_key("updated@" + std::to_string(minute));
    return e;
  };
  const SessionState s = MergeAll({updated(20, 8000), updated(10, 5000), updated(15, 6000)});
  EXPECT_EQ(s.meter_start->wh, 5000);
  EXPECT_EQ(s.meter_stop->wh, 8000);
}

TEST(MergeTest, ExplicitMeterStartWins) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  auto begin = MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 3, t + minutes(5), 3000);
  begin.set_meter_start_wh(1500);  // Transaction.Begin reading, reported late
  const std::vector<TransactionEvent> events = {
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t, 1800), begin,
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 9, t + minutes(40), 11'500)};
  for (const auto& order : {std::vector<int>{0, 1, 2}, {2, 1, 0}, {1, 2, 0}}) {
    SessionState s;
    for (int i : order) MergeEvent(events[i], kKrw150, &s);
    EXPECT_EQ(s.meter_start->wh, 1500);
    EXPECT_TRUE(s.meter_start_explicit);
    EXPECT_EQ(s.energy_wh, 10'000);
    EXPECT_EQ(s.cost_hundredths, 150'000);
  }
}

TEST(MergeTest, EndedFirstThenLateStarted) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  auto ended = MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 2, t + minutes(30), 26'500);
  ended.set_stopped_reason("EVDisconnected");
  SessionState s;
  MergeEvent(ended, kKrw150, &s);
  EXPECT_FALSE(s.started_seen);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.start_time, t + minutes(30));  // the best guess until Started arrives
  EXPECT_EQ(s.stop_reason, "EVDisconnected");
  EXPECT_EQ(s.energy_wh, 0);

  MergeEvent(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t, 1000), kKrw150, &s);
  EXPECT_TRUE(s.started_seen);
  EXPECT_EQ(s.start_time, t);
  EXPECT_EQ(s.end_time, t + minutes(30));
  EXPECT_EQ(s.energy_wh, 25'500);
  EXPECT_EQ(s.stop_reason, "EVDisconnected");
}

TEST(MergeTest, StartedTimestampBeatsEarlierGuesses) {
  // A station clock may put an Updated before Started; Started still defines the start.
  const TimePoint t = At("2026-11-23T10:00:00Z");
  const SessionState s =
      MergeAll({MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, t - minutes(5)),
                MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t)});
  EXPECT_EQ(s.start_time, t);
}

TEST(MergeTest, EnergyNeverNegative) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  const SessionState s =
      MergeAll({MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t, 50'000),
                MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 1, t + minutes(9), 200)});
  EXPECT_EQ(s.energy_wh, 0);
  EXPECT_EQ(s.cost_hundredths, 0);
}

TEST(MergeTest, UserIsTheEarliestTokenNotTheStopToken) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  auto started = MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t);
  started.set_id_token("start-card");
  auto ended = MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 4, t + minutes(9));
  ended.set_id_token("stop-card");
  EXPECT_EQ(MergeAll({ended, started}).user_id, "start-card");
  EXPECT_EQ(MergeAll({started, ended}).user_id, "start-card");
}

TEST(NormalizeEventTest, FillsMissingTimesAndTruncatesToMillis) {
  const TimePoint now = At("2026-11-23T10:00:00.123456Z");
  TransactionEvent bare;
  NormalizeEvent(now, &bare);
  EXPECT_EQ(FromProto(bare.timestamp()), At("2026-11-23T10:00:00.123Z"));
  EXPECT_EQ(FromProto(bare.received_at()), At("2026-11-23T10:00:00.123Z"));

  TransactionEvent stamped;
  *stamped.mutable_timestamp() = ToProto(At("2026-11-22T08:00:00.999999Z"));
  NormalizeEvent(now, &stamped);
  EXPECT_EQ(FromProto(stamped.timestamp()), At("2026-11-22T08:00:00.999Z"));
}

}  // namespace
}  // namespace csms::billing
