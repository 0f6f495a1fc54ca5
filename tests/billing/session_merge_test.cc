#include "csms/billing/session_merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "billing_test_util.h"

namespace csms::billing {
namespace {

using namespace csms::billing::testing;
using std::chrono::minutes;

const Tariff kKrw150 = *MakeTariff(150, "KRW");

// Merges the events in the order given and settles energy after each, as the ledger does.
SessionState MergeAll(const std::vector<TransactionEvent>& events) {
  SessionState session;
  std::vector<MeterReading> readings;
  for (const auto& event : events) {
    MergeEvent(event, &session);
    if (auto reading = RegisterReading(event)) readings.push_back(*reading);
    SettleEnergy(readings, kKrw150, &session);
  }
  return session;
}

// Ten minutes apart per order step: real charging power, well below MeterLimits.
MeterReading Reading(double wh, int64_t order) {
  return {wh, {order, At("2026-11-23T10:00:00Z") + minutes(10 * order)}};
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
  EXPECT_EQ(CostHundredths(0, kKrw150), 0);
}

// Rounded once, to the currency's minor unit (issue 16): KRW has none.
TEST(CostTest, RoundsToTheCurrencysMinorUnit) {
  struct Case {
    int64_t energy_wh;
    double price;
    const char* currency;
    int64_t hundredths;
  };
  for (const Case& c : std::vector<Case>{
           {1757, 150, "KRW", 26'400},  // 263.55 -> 264
           {1753, 150, "KRW", 26'300},  // 262.95 -> 263
           {1, 150, "KRW", 0},          // 0.15 -> 0
           {3333, 150, "KRW", 50'000},  // 499.95 -> 500
           {1757, 150, "JPY", 26'400},
           {1757, 0.35, "EUR", 61},    // 0.61495 -> 0.61
           {1757, 0.3528, "EUR", 62},  // 0.6198696 -> 0.62
           {1000, 0.1234, "KWD", 12},  // 3 decimals, kept to hundredths
       }) {
    EXPECT_EQ(CostHundredths(c.energy_wh, *MakeTariff(c.price, c.currency)), c.hundredths)
        << c.energy_wh << " Wh at " << c.price << " " << c.currency;
  }
  EXPECT_EQ(CurrencyDigits("KRW"), 0);
  EXPECT_EQ(CurrencyDigits("EUR"), 2);
  EXPECT_EQ(CurrencyDigits("KWD"), 3);
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
  EXPECT_EQ(EnergyFromRegisters(std::nullopt, {Reading(1000, 0), Reading(26'500, 2)}).wh, 25'500);
  // Meter replaced (or garbage): never negative.
  const RegisterEnergy down =
      EnergyFromRegisters(std::nullopt, {Reading(26'500, 0), Reading(1000, 2)});
  EXPECT_EQ(down.wh, 0);
  EXPECT_EQ(down.resets, 1);
  EXPECT_EQ(EnergyFromRegisters(std::nullopt, {Reading(26'500, 2)}).wh, 0);
  EXPECT_EQ(EnergyFromRegisters(std::nullopt, {}).wh, 0);
  EXPECT_EQ(EnergyFromRegisters(std::nullopt, {Reading(1000.4, 0), Reading(1001.6, 1)}).wh, 1);
}

TEST(EnergyTest, MonotonicSeriesIsExactlyLastMinusFirst) {
  // Summing each step in floating point would drift; segments take last minus first.
  std::vector<MeterReading> readings;
  for (int i = 0; i <= 100; ++i) readings.push_back(Reading(1000.1 + i * 12.345, i));
  const RegisterEnergy energy = EnergyFromRegisters(std::nullopt, readings);
  EXPECT_EQ(energy.wh, std::llround(readings.back().wh - readings.front().wh));
  EXPECT_EQ(energy.resets, 0);
}

TEST(EnergyTest, RegisterResetStartsANewSegment) {
  // 1000 → 5000, reset, 200 → 3200: 4000 + 3000, in whatever order the readings come.
  std::vector<MeterReading> readings = {Reading(1000, 0), Reading(5000, 1), Reading(200, 2),
                                        Reading(3200, 3)};
  auto by_order = [](const MeterReading& a, const MeterReading& b) { return a.at < b.at; };
  int orders = 0;
  do {
    const RegisterEnergy energy = EnergyFromRegisters(std::nullopt, readings);
    EXPECT_EQ(energy.wh, 7000);
    EXPECT_EQ(energy.resets, 1);
    ++orders;
  } while (std::next_permutation(readings.begin(), readings.end(), by_order));
  EXPECT_EQ(orders, 24);

  // Two resets, one straight after the Transaction.Begin reading.
  const RegisterEnergy twice = EnergyFromRegisters(
      Reading(1500, 0), {Reading(100, 1), Reading(900, 2), Reading(50, 3), Reading(650, 4)});
  EXPECT_EQ(twice.wh, 800 + 600);
  EXPECT_EQ(twice.resets, 2);
}

TEST(EnergyTest, TransactionBeginOpensTheFirstSegment) {
  EXPECT_EQ(EnergyFromRegisters(Reading(1500, 0), {Reading(1800, 0), Reading(11'500, 9)}).wh,
            10'000);
  EXPECT_EQ(EnergyFromRegisters(Reading(1500, 0), {}).wh, 0);
  // Seed dialect: the register counts from 0 each session and every event says meter start 0.
  EXPECT_EQ(EnergyFromRegisters(Reading(0, 0), {Reading(8500, 1), Reading(25'500, 2)}).wh, 25'500);
}

TEST(EnergyTest, SameTimeReadingsNeverLookLikeAReset) {
  // Seed dialect: all Updated share order_key 1; equal timestamps are ordered by value.
  const TimePoint t = At("2026-11-23T10:00:00Z");
  const RegisterEnergy energy = EnergyFromRegisters(
      MeterReading{0, {0, t - minutes(10)}}, {{9000, {1, t}}, {4000, {1, t}}, {12'000, {1, t}}});
  EXPECT_EQ(energy.wh, 12'000);
  EXPECT_EQ(energy.resets, 0);
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
    std::vector<TransactionEvent> arrival;
    for (int i : order) arrival.push_back(events[i]);
    const SessionState s = MergeAll(arrival);
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
  SessionState s = MergeAll({ended});
  EXPECT_FALSE(s.started_seen);
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.start_time, t + minutes(30));  // the best guess until Started arrives
  EXPECT_EQ(s.stop_reason, "EVDisconnected");
  EXPECT_EQ(s.energy_wh, 0);

  s = MergeAll({ended, MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t, 1000)});
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
  EXPECT_EQ(s.meter_resets, 1);
}

TEST(MergeTest, RegisterResetInAnyArrivalOrder) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  std::vector<TransactionEvent> events = {
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, t, 1000),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, t + minutes(10), 5000),
      MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 2, t + minutes(20), 200),
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 3, t + minutes(30), 3200)};
  auto by_seq_no = [](const auto& a, const auto& b) { return a.seq_no() < b.seq_no(); };
  do {
    const SessionState s = MergeAll(events);
    EXPECT_EQ(s.energy_wh, 7000);
    EXPECT_EQ(s.cost_hundredths, 105'000);
    EXPECT_EQ(s.meter_resets, 1);
    EXPECT_EQ(s.meter_start->wh, 1000);
    EXPECT_EQ(s.meter_stop->wh, 3200);
  } while (std::next_permutation(events.begin(), events.end(), by_seq_no));
}

TEST(MergeTest, SeedDialectMeterStartZeroOnEveryEvent) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  auto seed = [&](ocpp::v1::TransactionEventType type, int64_t order, int minute, double wh) {
    auto e = MakeEvent(type, "cp1", "tx1", order, t + minutes(minute), wh);
    e.clear_seq_no();
    e.set_meter_start_wh(0);
    e.set_dialect(ocpp::v1::DIALECT_SEED);
    return e;
  };
  const SessionState s = MergeAll({seed(TRANSACTION_EVENT_TYPE_ENDED, int64_t{1} << 31, 30, 25'500),
                                   seed(TRANSACTION_EVENT_TYPE_UPDATED, 1, 10, 8500),
                                   seed(TRANSACTION_EVENT_TYPE_STARTED, 0, 0, -1)});
  EXPECT_EQ(s.energy_wh, 25'500);
  EXPECT_EQ(s.cost_hundredths, 382'500);
  EXPECT_EQ(s.meter_resets, 0);
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

TEST(ClockTest, SuspectOnlyWhenClearlyWrong) {
  const TimePoint received = At("2026-11-23T10:00:00Z");
  auto stamped = [&](TimePoint timestamp) {
    auto e = MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp1", "tx1", 1, timestamp);
    *e.mutable_received_at() = ToProto(received);
    return e;
  };
  EXPECT_FALSE(ClockSuspect(stamped(received)));
  EXPECT_FALSE(ClockSuspect(stamped(received + kMaxClockLead)));  // small drift is normal
  EXPECT_TRUE(ClockSuspect(stamped(received + kMaxClockLead + std::chrono::milliseconds(1))));
  EXPECT_TRUE(ClockSuspect(stamped(received + std::chrono::hours(48))));
  // Offline backlogs are days old and still trusted; only the unsynchronised years are not.
  EXPECT_FALSE(ClockSuspect(stamped(received - std::chrono::hours(24 * 30))));
  EXPECT_FALSE(ClockSuspect(stamped(At("2020-01-01T00:00:00Z"))));
  EXPECT_TRUE(ClockSuspect(stamped(At("2019-12-31T23:59:59Z"))));
  EXPECT_TRUE(ClockSuspect(stamped(At("1970-01-01T00:00:00Z"))));
  EXPECT_TRUE(ClockSuspect(stamped(At("2000-01-01T00:00:00Z"))));

  EXPECT_EQ(EffectiveTime(stamped(At("1970-01-01T00:00:00Z"))), received);
  EXPECT_EQ(EffectiveTime(stamped(received - std::chrono::hours(5))),
            received - std::chrono::hours(5));
}

TEST(MergeTest, SuspectClocksDateBySuspectEventsReceiveTime) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  auto started =
      MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp1", "tx1", 0, At("1970-01-01T00:00:07Z"), 1000);
  *started.mutable_received_at() = ToProto(t);
  auto ended =
      MakeEvent(TRANSACTION_EVENT_TYPE_ENDED, "cp1", "tx1", 1, t + std::chrono::hours(48), 3000);
  *ended.mutable_received_at() = ToProto(t + minutes(30));
  for (const auto& s : {MergeAll({started, ended}), MergeAll({ended, started})}) {
    EXPECT_TRUE(s.clock_suspect);
    EXPECT_EQ(s.start_time, t);
    EXPECT_EQ(s.end_time, t + minutes(30));
    EXPECT_EQ(s.energy_wh, 2000);
  }
  EXPECT_FALSE(MergeAll(SeedSession("cp1", "tx1", t)).clock_suspect);
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

namespace csms::billing {
namespace {

// MergeAndSettle against the full recomputation, event after event: in-order registers, equal
// registers, resets, out-of-order arrival, late Transaction.Begin readings, events without a
// reading. Whenever it settles by itself it must give exactly what SettleEnergy with every
// reading gives; when it declines, the ledger settles from every reading, as here.
TEST(MergeAndSettleTest, AlwaysAgreesWithTheFullRecomputation) {
  std::mt19937 random(20261124);
  int settled_alone = 0;
  int declined = 0;
  for (int round = 0; round < 2000; ++round) {
    const int n = 1 + static_cast<int>(random() % 8);
    std::vector<TransactionEvent> events;
    double wh = 1000 + random() % 500;
    for (int seq = 0; seq < n; ++seq) {
      const auto type = seq == 0       ? TRANSACTION_EVENT_TYPE_STARTED
                        : seq == n - 1 ? TRANSACTION_EVENT_TYPE_ENDED
                                       : TRANSACTION_EVENT_TYPE_UPDATED;
      const int kind = static_cast<int>(random() % 10);
      if (kind == 0) {
        wh = static_cast<double>(random() % 300);  // meter reset
      } else if (kind > 2) {
        wh += static_cast<double>(random() % 2000) / 10;  // rising, sometimes by 0
      }
      TransactionEvent event =
          MakeEvent(type, "cp", "tx", seq, At("2026-11-23T10:00:00Z") + minutes(seq),
                    kind == 1 ? -1 : wh);  // kind 1: no reading
      if (kind == 2 || (seq == 0 && random() % 2)) event.set_meter_start_wh(wh - random() % 50);
      events.push_back(event);
    }
    // Mostly in order; sometimes shuffled, as offline backlogs and retries arrive.
    if (random() % 3 == 0) std::shuffle(events.begin(), events.end(), random);

    SessionState incremental;
    std::vector<MeterReading> readings;
    for (const auto& event : events) {
      if (auto reading = RegisterReading(event)) readings.push_back(*reading);
      SessionState expected = incremental;
      MergeEvent(event, &expected);
      SettleEnergy(readings, kKrw150, &expected);
      if (MergeAndSettle(event, kKrw150, &incremental)) {
        ++settled_alone;
      } else {
        ++declined;
        SettleEnergy(readings, kKrw150, &incremental);
      }
      ASSERT_EQ(incremental.energy_wh, expected.energy_wh) << "round " << round;
      ASSERT_EQ(incremental.meter_resets, expected.meter_resets) << "round " << round;
      ASSERT_EQ(incremental.cost_hundredths, expected.cost_hundredths) << "round " << round;
      ASSERT_EQ(incremental.currency, expected.currency);
    }
  }
  // Both paths are exercised, and the common one (in order) needs no readings.
  EXPECT_GT(settled_alone, declined);
  EXPECT_GT(declined, 100);
}

TEST(MergeAndSettleTest, InOrderSessionsNeverNeedTheirReadings) {
  for (const auto& events :
       {SeedSession("cp", "tx", At("2026-11-23T10:00:00Z")), std::vector<TransactionEvent>{}}) {
    SessionState session;
    for (const auto& event : events) EXPECT_TRUE(MergeAndSettle(event, kKrw150, &session));
    if (!events.empty()) {
      EXPECT_EQ(session.cost_hundredths, 382'500);
    }
  }
  // The seed dialect repeats meterStart 0 on every event: the begin value does not change.
  SessionState seed;
  for (int seq = 0; seq < 4; ++seq) {
    auto event =
        MakeEvent(seq == 0 ? TRANSACTION_EVENT_TYPE_STARTED : TRANSACTION_EVENT_TYPE_UPDATED, "cp",
                  "tx", 0, At("2026-11-23T10:00:00Z") + minutes(seq), 1000.0 * seq);
    event.set_dedup_key("seed:" + std::to_string(seq));
    event.set_meter_start_wh(0);
    EXPECT_TRUE(MergeAndSettle(event, kKrw150, &seed)) << seq;
  }
  EXPECT_EQ(seed.energy_wh, 3000);
}

TEST(MergeAndSettleTest, DeclinesWhatOnlyAllReadingsCanSettle) {
  const TimePoint t = At("2026-11-23T10:00:00Z");
  SessionState session;
  ASSERT_TRUE(
      MergeAndSettle(MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp", "tx", 2, t + minutes(2), 5000),
                     kKrw150, &session));
  // A reading before the last one: the first segment changes.
  EXPECT_FALSE(MergeAndSettle(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp", "tx", 0, t, 1000),
                              kKrw150, &session));
  SessionState reset;
  ASSERT_TRUE(MergeAndSettle(MakeEvent(TRANSACTION_EVENT_TYPE_STARTED, "cp", "tx", 0, t, 5000),
                             kKrw150, &reset));
  // The register went down: a new segment.
  EXPECT_FALSE(
      MergeAndSettle(MakeEvent(TRANSACTION_EVENT_TYPE_UPDATED, "cp", "tx", 1, t + minutes(1), 100),
                     kKrw150, &reset));
}

}  // namespace
}  // namespace csms::billing

namespace csms::billing {
namespace {

// Real meters, as the ledger must bill them (issue 16): each sequence is merged in the arrival
// order given, settled from every reading and incrementally, and both must bill the same.
struct MeterCase {
  const char* name;
  struct Reading {
    int64_t seq;
    int64_t seconds;       // after the session's start
    double register_wh;    // < 0: no register reading
    double begin_wh = -1;  // >= 0: a Transaction.Begin reading in the same event
  };
  std::vector<Reading> events;  // by seqNo; the first is Started, the last Ended
  std::vector<int> arrival;     // indexes into events; empty: in order
  int64_t energy_wh;
  int64_t implausible;
  int64_t resets = 0;
};

const MeterCase kMeterCases[] = {
    {"placeholder begin 0, then the lifetime register",
     {{0, 0, 12'345'000, 0}, {1, 1, 12'345'500}},
     {},
     500,
     1},
    {"placeholder begin 0 in Started, lifetime register in each Updated",
     {{0, 0, -1, 0}, {1, 60, 12'345'000}, {2, 120, 12'347'000}, {3, 180, 12'349'000}},
     {},
     4000,
     1},
    {"an implausible jump in the middle",
     {{0, 0, 1000}, {1, 600, 9000}, {2, 601, 9'000'000}, {3, 1200, 9'004'000}},
     {},
     8000 + 4000,
     1},
    {"the same jump arriving out of order",
     {{0, 0, 1000}, {1, 600, 9000}, {2, 601, 9'000'000}, {3, 1200, 9'004'000}},
     {3, 1, 0, 2},
     8000 + 4000,
     1},
    {"fast but plausible (350 kW for ten minutes)",
     {{0, 0, 0, 0}, {1, 600, 58'333}},
     {},
     58'333,
     0},
    {"register reset mid-session",
     {{0, 0, 5000}, {1, 600, 9000}, {2, 900, 200}, {3, 1200, 3200}},
     {},
     4000 + 3000,
     0,
     1},
    {"offline burst: an hour of readings arriving at once, shuffled",
     {{0, 0, 1000}, {1, 900, 6000}, {2, 1800, 11'000}, {3, 2700, 16'000}, {4, 3600, 21'000}},
     {4, 2, 0, 3, 1},
     20'000,
     0},
    {"missing Transaction.Begin and missing Started",
     {{1, 600, 4000}, {2, 1200, 9000}},
     {1, 0},
     5000,
     0},
    {"a plausible first reading after a placeholder that arrives late",
     {{0, 0, -1, 0}, {1, 3600, 40'000}},
     {1, 0},
     40'000,
     0},
};

std::vector<TransactionEvent> EventsOf(const MeterCase& c) {
  const TimePoint start = At("2026-12-07T10:00:00Z");
  std::vector<TransactionEvent> events;
  for (size_t i = 0; i < c.events.size(); ++i) {
    const auto& r = c.events[i];
    const auto type = i + 1 == c.events.size() && i > 0 ? TRANSACTION_EVENT_TYPE_ENDED
                      : r.seq == 0                      ? TRANSACTION_EVENT_TYPE_STARTED
                                                        : TRANSACTION_EVENT_TYPE_UPDATED;
    TransactionEvent event =
        MakeEvent(type, "cp", "tx", r.seq, start + std::chrono::seconds(r.seconds), r.register_wh);
    if (r.begin_wh >= 0) event.set_meter_start_wh(r.begin_wh);
    events.push_back(event);
  }
  if (c.arrival.empty()) return events;
  std::vector<TransactionEvent> arrived;
  for (int index : c.arrival) arrived.push_back(events[index]);
  return arrived;
}

TEST(MeterSequenceTest, BillsPlausibleEnergyAndFlagsTheRest) {
  for (const MeterCase& c : kMeterCases) {
    SCOPED_TRACE(c.name);
    const std::vector<TransactionEvent> events = EventsOf(c);
    const SessionState full = MergeAll(events);
    EXPECT_EQ(full.energy_wh, c.energy_wh);
    EXPECT_EQ(full.implausible_readings, c.implausible);
    EXPECT_EQ(full.meter_resets, c.resets);
    EXPECT_EQ(full.needs_review, c.implausible > 0);
    EXPECT_EQ(full.review_reason.empty(), c.implausible == 0) << full.review_reason;
    EXPECT_EQ(full.cost_hundredths, CostHundredths(c.energy_wh, kKrw150));

    SessionState incremental;
    std::vector<MeterReading> readings;
    for (const auto& event : events) {
      if (auto reading = RegisterReading(event)) readings.push_back(*reading);
      if (!MergeAndSettle(event, kKrw150, &incremental)) {
        SettleEnergy(readings, kKrw150, &incremental);
      }
    }
    EXPECT_EQ(incremental.energy_wh, full.energy_wh);
    EXPECT_EQ(incremental.implausible_readings, full.implausible_readings);
    EXPECT_EQ(incremental.review_reason, full.review_reason);
  }
}

TEST(MeterSequenceTest, TheReasonNamesTheJumpAndTheCeiling) {
  SessionState s = MergeAll(EventsOf(kMeterCases[0]));
  EXPECT_EQ(s.review_reason,
            "the energy register rose from 0 to 12345000 Wh in 0 s, more than 500 kW can "
            "deliver; not billed, billing goes on from 12345000 Wh");
  s = MergeAll(EventsOf(kMeterCases[2]));
  EXPECT_EQ(s.review_reason,
            "the energy register rose from 9000 to 9000000 Wh in 1 s (32367600 kW), more than "
            "500 kW can deliver; not billed, billing goes on from 9000000 Wh");
}

TEST(MeterSequenceTest, ACeilingOfZeroChecksNothing) {
  const std::vector<TransactionEvent> events = EventsOf(kMeterCases[0]);
  SessionState s;
  std::vector<MeterReading> readings;
  for (const auto& event : events) {
    MergeEvent(event, &s);
    if (auto reading = RegisterReading(event)) readings.push_back(*reading);
    SettleEnergy(readings, kKrw150, &s, MeterLimits{0});
  }
  EXPECT_EQ(s.energy_wh, 12'345'500);
  EXPECT_FALSE(s.needs_review);
}

}  // namespace
}  // namespace csms::billing
