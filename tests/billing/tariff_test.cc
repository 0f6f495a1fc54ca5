#include "csms/billing/tariff.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "billing_test_util.h"

namespace csms::billing {

// Readable failures for the case tables (found by argument-dependent lookup, so not in the
// anonymous namespace).
void PrintTo(const CostBreakdown& b, std::ostream* os) {
  *os << "{energy_micros " << b.energy_micros << ", charging_time_micros " << b.charging_time_micros
      << ", idle_micros " << b.idle_micros << ", session_fee_micros " << b.session_fee_micros
      << ", adjustment_micros " << b.adjustment_micros << ", tax_micros " << b.tax_micros
      << ", prices_exclude_tax " << b.prices_exclude_tax << ", charging_ms " << b.charging_ms
      << ", idle_ms " << b.idle_ms << ", total_minor " << b.total_minor << ", cost_hundredths "
      << b.cost_hundredths << "}";
}

namespace {

using namespace csms::billing::testing;

constexpr uint8_t kMonday = 1 << 0;
constexpr uint8_t kSaturday = 1 << 5;
constexpr uint8_t kSunday = 1 << 6;
constexpr uint8_t kEveryDay = 0x7f;

// Local wall-clock time in Seoul (UTC+9 all year), e.g. Kst("2026-11-23T21:40").
TimePoint Kst(const std::string& local) { return At(local + ":00+09:00"); }

SessionUsage Usage(int64_t energy_wh, TimePoint start, TimePoint end,
                   std::vector<ChargingStateAt> states = {}, std::vector<EnergySpan> spans = {}) {
  SessionUsage usage;
  usage.energy_wh = energy_wh;
  usage.spans = std::move(spans);
  usage.states = std::move(states);
  usage.start = start;
  usage.end = end;
  return usage;
}

// A time-of-use period at the tariff's prices.
TouPeriod Period(uint8_t weekdays, int start_minute, int end_minute) {
  TouPeriod period;
  period.weekdays = weekdays;
  period.start_minute = start_minute;
  period.end_minute = end_minute;
  return period;
}

// A tariff without prices; the cases set what they need.
Tariff Base(std::string currency, int minor_unit_digits, std::string tariff_id,
            std::string time_zone) {
  Tariff tariff;
  tariff.currency = std::move(currency);
  tariff.minor_unit_digits = minor_unit_digits;
  tariff.tariff_id = std::move(tariff_id);
  tariff.version = 1;
  tariff.time_zone = std::move(time_zone);
  return tariff;
}

// charging_ms and idle_ms are not pinned down for a tariff without that time price; they are
// compared only where the tariff charges for the time.
CostBreakdown Comparable(CostBreakdown b, const Tariff& tariff) {
  bool charging_price = tariff.charging_micros_per_minute != 0;
  for (const TouPeriod& period : tariff.periods) {
    charging_price |= period.charging_micros_per_minute.value_or(0) != 0;
  }
  if (!charging_price) b.charging_ms = 0;
  if (tariff.idle_micros_per_minute == 0) b.idle_ms = 0;
  return b;
}

// KRW 200/kWh by day, 100/kWh from 22:00 to 08:00 Seoul time; with time prices KRW 10/min by
// day and 5/min at night.
Tariff SeoulNight(bool time_prices) {
  Tariff tariff = Base("KRW", 0, "seoul-night", "Asia/Seoul");
  tariff.price_micros_per_kwh = 200'000'000;
  TouPeriod night = Period(kEveryDay, 22 * 60, 8 * 60);
  night.energy_micros_per_kwh = 100'000'000;
  if (time_prices) {
    tariff.charging_micros_per_minute = 10'000'000;
    night.charging_micros_per_minute = 5'000'000;
  }
  tariff.periods = {night};
  return tariff;
}

// KRW 100/kWh, 2/min charging, 10/min idle after 15 minutes' grace.
Tariff KrwIdle() {
  Tariff tariff = Base("KRW", 0, "idle", "UTC");
  tariff.price_micros_per_kwh = 100'000'000;
  tariff.charging_micros_per_minute = 2'000'000;
  tariff.idle_micros_per_minute = 10'000'000;
  tariff.idle_grace_minutes = 15;
  return tariff;
}

// EUR 0.30/kWh.
Tariff Eur30() {
  Tariff tariff = Base("EUR", 2, "eur", "Europe/Berlin");
  tariff.price_micros_per_kwh = 300'000;
  return tariff;
}

Tariff Eur30With(const std::function<void(Tariff&)>& change) {
  Tariff tariff = Eur30();
  change(tariff);
  return tariff;
}

struct PriceCase {
  const char* name;
  Tariff tariff;
  SessionUsage usage;
  CostBreakdown expected;
};

void ExpectPrices(const std::vector<PriceCase>& cases) {
  for (const PriceCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Comparable(PriceSession(c.tariff, c.usage), c.tariff),
              Comparable(c.expected, c.tariff));
  }
}

// The acceptance cases.
TEST(PriceSessionTest, AcceptanceCases) {
  const TimePoint t10 = At("2026-11-23T10:00:00Z");  // a Monday
  auto utc = [](const char* hh_mm) { return At(std::string("2026-11-23T") + hh_mm + ":00Z"); };

  Tariff version1 = *MakeTariff(150, "KRW");
  version1.tariff_id = "station-7";
  version1.version = 1;
  Tariff version2 = version1;
  version2.version = 2;
  version2.price_micros_per_kwh = 180'000'000;
  version2.session_fee_micros = 500'000'000;

  ExpectPrices({
      // 21:40-22:30 KST, 1000 Wh evenly: 20 min by day, 30 min at night.
      // Energy 400 Wh × 200 + 600 Wh × 100 = 80 + 60 = 140 KRW.
      // Charging (no states: all of it) 20 min × 10 + 30 min × 5 = 200 + 150 = 350 KRW.
      {"time of use: boundary inside the session",
       SeoulNight(true),
       Usage(1000, Kst("2026-11-23T21:40"), Kst("2026-11-23T22:30"), {},
             {{Kst("2026-11-23T21:40"), Kst("2026-11-23T22:30"), 1000}}),
       {.energy_micros = 140'000'000,
        .charging_time_micros = 350'000'000,
        .charging_ms = 3'000'000,
        .total_minor = 490,
        .cost_hundredths = 49'000}},

      // Charging 10:05-10:20 and 10:25-10:40 = 30 min × 2 = 60 KRW. After the last Charging:
      // SuspendedEV 10:40-10:50 + EVConnected 10:50-11:10 = 30 min, less 15 min grace = 15 min
      // × 10 = 150 KRW (EVConnected before charging and the SuspendedEVSE pause do not count).
      // Energy 5000 Wh × 100 = 500 KRW. 500 + 60 + 150 = 710.
      {"idle fee after the grace period",
       KrwIdle(),
       Usage(5000, t10, utc("11:10"),
             {{t10, "EVConnected"},
              {utc("10:05"), "Charging"},
              {utc("10:20"), "SuspendedEVSE"},
              {utc("10:25"), "Charging"},
              {utc("10:40"), "SuspendedEV"},
              {utc("10:50"), "EVConnected"}}),
       {.energy_micros = 500'000'000,
        .charging_time_micros = 60'000'000,
        .idle_micros = 150'000'000,
        .charging_ms = 1'800'000,
        .idle_ms = 900'000,
        .total_minor = 710,
        .cost_hundredths = 71'000}},

      // 10 000 Wh × 0.30 = 3.00 EUR + 1.00 EUR fee.
      {"session fee",
       Eur30With([](Tariff& t) { t.session_fee_micros = 1'000'000; }),
       Usage(10'000, t10, utc("11:00")),
       {.energy_micros = 3'000'000,
        .session_fee_micros = 1'000'000,
        .total_minor = 400,
        .cost_hundredths = 400}},

      // 3.00 EUR including 19 %: tax 3 × 19 / 119 = 0.478991596... → 478 992 micros.
      {"tax included (gross)",
       Eur30With([](Tariff& t) { t.tax_ppm = 190'000; }),
       Usage(10'000, t10, utc("11:00")),
       {.energy_micros = 3'000'000,
        .tax_micros = 478'992,
        .total_minor = 300,
        .cost_hundredths = 300}},

      // 3.00 EUR plus 19 %: 0.57 tax, 3.57 total.
      {"tax added (net)",
       Eur30With([](Tariff& t) {
         t.tax_ppm = 190'000;
         t.prices_exclude_tax = true;
       }),
       Usage(10'000, t10, utc("11:00")),
       {.energy_micros = 3'000'000,
        .tax_micros = 570'000,
        .prices_exclude_tax = true,
        .total_minor = 357,
        .cost_hundredths = 357}},

      // 1000 Wh × 0.30 = 0.30 EUR, raised to the minimum 2.00.
      {"minimum price",
       Eur30With([](Tariff& t) { t.min_micros = 2'000'000; }),
       Usage(1000, t10, utc("11:00")),
       {.energy_micros = 300'000,
        .adjustment_micros = 1'700'000,
        .total_minor = 200,
        .cost_hundredths = 200}},

      // 30 000 Wh × 0.30 = 9.00 EUR, cut to the maximum 5.00.
      {"maximum price",
       Eur30With([](Tariff& t) { t.max_micros = 5'000'000; }),
       Usage(30'000, t10, utc("11:00")),
       {.energy_micros = 9'000'000,
        .adjustment_micros = -4'000'000,
        .total_minor = 500,
        .cost_hundredths = 500}},

      // 1757 Wh × 150 = 263.55 KRW → 264 (whole won).
      {"KRW rounds to whole won",
       *MakeTariff(150, "KRW"),
       Usage(1757, t10, utc("10:30")),
       {.energy_micros = 263'550'000, .total_minor = 264, .cost_hundredths = 26'400}},

      // 1757 Wh × 0.35 = 0.61495 EUR → 0.61.
      {"EUR rounds to cents",
       *MakeTariff(0.35, "EUR"),
       Usage(1757, t10, utc("10:30")),
       {.energy_micros = 614'950, .total_minor = 61, .cost_hundredths = 61}},

      // The same session under two versions of a tariff: 25 500 Wh × 150 = 3825 KRW;
      // 25 500 Wh × 180 = 4590 KRW + 500 KRW fee = 5090 KRW.
      {"tariff change: version 1",
       version1,
       Usage(25'500, t10, utc("10:30")),
       {.energy_micros = 3'825'000'000, .total_minor = 3825, .cost_hundredths = 382'500}},
      {"tariff change: version 2",
       version2,
       Usage(25'500, t10, utc("10:30")),
       {.energy_micros = 4'590'000'000,
        .session_fee_micros = 500'000'000,
        .total_minor = 5090,
        .cost_hundredths = 509'000}},
  });
}

TEST(PriceSessionTest, TariffChangeDuringASessionPricesTheSameUsageDifferently) {
  Tariff old_version = *MakeTariff(150, "KRW");
  old_version.tariff_id = "station-7";
  old_version.version = 1;
  Tariff new_version = old_version;
  new_version.version = 2;
  new_version.price_micros_per_kwh = 180'000'000;
  const SessionUsage usage = Usage(25'500, At("2026-11-23T10:00:00Z"), At("2026-11-23T10:30:00Z"));
  EXPECT_EQ(PriceSession(old_version, usage).total_minor, 3825);  // 25.5 kWh × 150
  EXPECT_EQ(PriceSession(new_version, usage).total_minor, 4590);  // 25.5 kWh × 180
}

// How energy is shared among periods. SeoulNight(false): 200 KRW/kWh by day, 100 at night
// (22:00-08:00 KST), i.e. 200 000 and 100 000 micros per Wh.
TEST(PriceSessionTest, TimeOfUseSharesEnergy) {
  const Tariff tou = SeoulNight(false);
  ExpectPrices({
      // 21:40-22:10: 2/3 by day, 1/3 at night: 666.67 and 333.33 Wh. Largest remainder makes
      // them 667 and 333 (not 666 and 334). 667 × 200 000 + 333 × 100 000 = 166 700 000.
      {"largest remainder",
       tou,
       Usage(1000, Kst("2026-11-23T21:40"), Kst("2026-11-23T22:10"), {},
             {{Kst("2026-11-23T21:40"), Kst("2026-11-23T22:10"), 1000}}),
       {.energy_micros = 166'700'000, .total_minor = 167, .cost_hundredths = 16'700}},

      // Interval readings (from == to) are all in the period of their instant:
      // 300 Wh at 21:45 by day, 700 Wh at 22:15 at night. 60 + 70 = 130 KRW.
      {"instant spans",
       tou,
       Usage(1000, Kst("2026-11-23T21:40"), Kst("2026-11-23T22:20"), {},
             {{Kst("2026-11-23T21:45"), Kst("2026-11-23T21:45"), 300},
              {Kst("2026-11-23T22:15"), Kst("2026-11-23T22:15"), 700}}),
       {.energy_micros = 130'000'000, .total_minor = 130, .cost_hundredths = 13'000}},

      // Spans of 300 + 600 Wh share out the billed 1000 Wh: 333.33 by day, 666.67 at night →
      // 333 and 667. 333 × 200 000 + 667 × 100 000 = 133 300 000.
      {"spans share out the billed energy",
       tou,
       Usage(1000, Kst("2026-11-23T21:40"), Kst("2026-11-23T22:20"), {},
             {{Kst("2026-11-23T21:45"), Kst("2026-11-23T21:45"), 300},
              {Kst("2026-11-23T22:15"), Kst("2026-11-23T22:15"), 600}}),
       {.energy_micros = 133'300'000, .total_minor = 133, .cost_hundredths = 13'300}},

      // 30 min by day and 30 at night (300 + 300 Wh), plus 400 Wh at 22:40 (night):
      // 300 × 200 000 + 700 × 100 000 = 130 000 000.
      {"spans and instants together",
       tou,
       Usage(1000, Kst("2026-11-23T21:30"), Kst("2026-11-23T22:40"), {},
             {{Kst("2026-11-23T21:30"), Kst("2026-11-23T22:30"), 600},
              {Kst("2026-11-23T22:40"), Kst("2026-11-23T22:40"), 400}}),
       {.energy_micros = 130'000'000, .total_minor = 130, .cost_hundredths = 13'000}},

      // No spans: all energy at the price in force at the start.
      {"no spans, start at night",
       tou,
       Usage(1000, Kst("2026-11-23T22:10"), Kst("2026-11-23T22:40")),
       {.energy_micros = 100'000'000, .total_minor = 100, .cost_hundredths = 10'000}},
      {"no spans, start by day",
       tou,
       Usage(1000, Kst("2026-11-23T21:50"), Kst("2026-11-23T22:40")),
       {.energy_micros = 200'000'000, .total_minor = 200, .cost_hundredths = 20'000}},

      // Local time: 22:30Z-23:30Z is 07:30-08:30 KST, half at night (500 Wh × 100 000) and
      // half by day (500 Wh × 200 000): 50 + 100 = 150 KRW.
      {"the periods are in local time",
       tou,
       Usage(1000, At("2026-11-23T22:30:00Z"), At("2026-11-23T23:30:00Z"), {},
             {{At("2026-11-23T22:30:00Z"), At("2026-11-23T23:30:00Z"), 1000}}),
       {.energy_micros = 150'000'000, .total_minor = 150, .cost_hundredths = 15'000}},
  });
}

// Charging time: only chargingState Charging, each minute at its period's price.
// SeoulNight(true): 10 KRW/min by day, 5 at night.
TEST(PriceSessionTest, ChargingTime) {
  ExpectPrices({
      // Charging 21:40-21:50 (day, 10 min × 10 = 100) and 22:00-22:20 (night, 20 min × 5 = 100);
      // SuspendedEV and EVConnected cost nothing here (no idle price). No spans: 500 Wh at the
      // start's price, 500 × 200 000 = 100 000 000. Total 300 KRW.
      {"split by state and period",
       SeoulNight(true),
       Usage(500, Kst("2026-11-23T21:40"), Kst("2026-11-23T22:30"),
             {{Kst("2026-11-23T21:40"), "Charging"},
              {Kst("2026-11-23T21:50"), "SuspendedEV"},
              {Kst("2026-11-23T22:00"), "Charging"},
              {Kst("2026-11-23T22:20"), "EVConnected"}}),
       {.energy_micros = 100'000'000,
        .charging_time_micros = 200'000'000,
        .charging_ms = 1'800'000,
        .total_minor = 300,
        .cost_hundredths = 30'000}},

      // A period without its own charging price uses the tariff's: all 60 min × 10 = 600.
      {"period without a charging price",
       [] {
         Tariff t = SeoulNight(true);
         t.periods[0].charging_micros_per_minute.reset();
         return t;
       }(),
       Usage(0, Kst("2026-11-23T21:30"), Kst("2026-11-23T22:30")),
       {.charging_time_micros = 600'000'000,
        .charging_ms = 3'600'000,
        .total_minor = 600,
        .cost_hundredths = 60'000}},

      // KrwIdle: 2 KRW/min, 100 KRW/kWh. No states: the whole 45 min charges = 90 KRW.
      {"no states: the whole session charges",
       KrwIdle(),
       Usage(1000, At("2026-11-23T10:00:00Z"), At("2026-11-23T10:45:00Z")),
       {.energy_micros = 100'000'000,
        .charging_time_micros = 90'000'000,
        .charging_ms = 2'700'000,
        .total_minor = 190,
        .cost_hundredths = 19'000}},

      // Before the first state nothing charges: 10:10-10:40 = 30 min × 2 = 60 KRW. The car
      // leaves (Idle) at 10:40: no idle fee.
      {"before the first state: not charging",
       KrwIdle(),
       Usage(1000, At("2026-11-23T10:00:00Z"), At("2026-11-23T11:00:00Z"),
             {{At("2026-11-23T10:10:00Z"), "Charging"}, {At("2026-11-23T10:40:00Z"), "Idle"}}),
       {.energy_micros = 100'000'000,
        .charging_time_micros = 60'000'000,
        .charging_ms = 1'800'000,
        .total_minor = 160,
        .cost_hundredths = 16'000}},

      // 90.5 s × 2 KRW/min = 90 500 × 2 000 000 / 60 000 = 3 016 666.67 micros → 3 016 667;
      // 3.0167 KRW → 3.
      {"part of a minute",
       KrwIdle(),
       Usage(0, At("2026-11-23T10:00:00Z"), At("2026-11-23T10:01:30.5Z")),
       {.charging_time_micros = 3'016'667,
        .charging_ms = 90'500,
        .total_minor = 3,
        .cost_hundredths = 300}},
  });
}

// KrwIdle: 100 KRW/kWh, 2/min charging, 10/min idle after 15 min grace.
TEST(PriceSessionTest, IdleTime) {
  const TimePoint t10 = At("2026-11-23T10:00:00Z");
  auto utc = [](const char* hh_mm_ss) { return At(std::string("2026-11-23T") + hh_mm_ss + "Z"); };
  ExpectPrices({
      // Charging 30 min = 60; SuspendedEV 10:30-10:50 = 20 min - 15 grace = 5 min × 10 = 50;
      // Idle (the car has gone) 10:50-11:00 is not billed. 500 + 60 + 50 = 610.
      {"Idle (no car) is not idle time",
       KrwIdle(),
       Usage(5000, t10, utc("11:00:00"),
             {{t10, "Charging"}, {utc("10:30:00"), "SuspendedEV"}, {utc("10:50:00"), "Idle"}}),
       {.energy_micros = 500'000'000,
        .charging_time_micros = 60'000'000,
        .idle_micros = 50'000'000,
        .charging_ms = 1'800'000,
        .idle_ms = 300'000,
        .total_minor = 610,
        .cost_hundredths = 61'000}},

      // 10 min EVConnected is within the 15 min grace. Charging 50 min = 100.
      {"within the grace period",
       KrwIdle(),
       Usage(5000, t10, utc("11:00:00"), {{t10, "Charging"}, {utc("10:50:00"), "EVConnected"}}),
       {.energy_micros = 500'000'000,
        .charging_time_micros = 100'000'000,
        .charging_ms = 3'000'000,
        .total_minor = 600,
        .cost_hundredths = 60'000}},

      // SuspendedEVSE 10:30-10:52:30 = 22.5 min - 15 = 7.5 min × 10 = 75.
      {"SuspendedEVSE, part of a minute",
       KrwIdle(),
       Usage(5000, t10, utc("10:52:30"), {{t10, "Charging"}, {utc("10:30:00"), "SuspendedEVSE"}}),
       {.energy_micros = 500'000'000,
        .charging_time_micros = 60'000'000,
        .idle_micros = 75'000'000,
        .charging_ms = 1'800'000,
        .idle_ms = 450'000,
        .total_minor = 635,
        .cost_hundredths = 63'500}},

      // Never charged: no charging time and no idle time, however long it stays plugged in.
      {"no Charging state: no idle",
       KrwIdle(),
       Usage(0, t10, utc("11:00:00"), {{t10, "EVConnected"}}),
       {}},

      // Still charging at the end: no idle.
      {"charging until the end",
       KrwIdle(),
       Usage(1000, t10, utc("11:00:00"), {{t10, "EVConnected"}, {utc("10:30:00"), "Charging"}}),
       {.energy_micros = 100'000'000,
        .charging_time_micros = 60'000'000,
        .charging_ms = 1'800'000,
        .total_minor = 160,
        .cost_hundredths = 16'000}},
  });
}

// Eur30: 0.30 EUR/kWh = 300 micros per Wh.
TEST(PriceSessionTest, FeeMinimumMaximumAndTax) {
  const TimePoint t10 = At("2026-11-23T10:00:00Z");
  auto utc = [](const char* hh_mm) { return At(std::string("2026-11-23T") + hh_mm + ":00Z"); };
  // min 2.00, max 5.00, idle 0.10/min without grace.
  const Tariff bounded = Eur30With([](Tariff& t) {
    t.min_micros = 2'000'000;
    t.max_micros = 5'000'000;
    t.idle_micros_per_minute = 100'000;
  });
  ExpectPrices({
      {"no session fee without energy",
       Eur30With([](Tariff& t) { t.session_fee_micros = 1'000'000; }),
       Usage(0, t10, utc("11:00")),
       {}},

      // No energy: no minimum. 10 min idle × 0.10 = 1.00 EUR.
      {"no minimum without energy",
       bounded,
       Usage(0, t10, utc("10:11"), {{t10, "Charging"}, {utc("10:01"), "EVConnected"}}),
       {.idle_micros = 1'000'000, .idle_ms = 600'000, .total_minor = 100, .cost_hundredths = 100}},

      // The maximum always applies: 120 min idle × 0.10 = 12.00 → 5.00.
      {"maximum without energy",
       bounded,
       Usage(0, t10, utc("12:01"), {{t10, "Charging"}, {utc("10:01"), "EVConnected"}}),
       {.idle_micros = 12'000'000,
        .adjustment_micros = -7'000'000,
        .idle_ms = 7'200'000,
        .total_minor = 500,
        .cost_hundredths = 500}},

      // The sum equals the minimum: no adjustment. 1000 Wh × 0.30 + fee 1.70 = 2.00.
      {"sum at the minimum",
       Eur30With([](Tariff& t) {
         t.min_micros = 2'000'000;
         t.session_fee_micros = 1'700'000;
       }),
       Usage(1000, t10, utc("11:00")),
       {.energy_micros = 300'000,
        .session_fee_micros = 1'700'000,
        .total_minor = 200,
        .cost_hundredths = 200}},

      // The bounds are in the prices' basis: 9.00 net → 5.00, plus 19 % = 5.95.
      {"maximum before the tax (net)",
       Eur30With([](Tariff& t) {
         t.max_micros = 5'000'000;
         t.tax_ppm = 190'000;
         t.prices_exclude_tax = true;
       }),
       Usage(30'000, t10, utc("11:00")),
       {.energy_micros = 9'000'000,
        .adjustment_micros = -4'000'000,
        .tax_micros = 950'000,
        .prices_exclude_tax = true,
        .total_minor = 595,
        .cost_hundredths = 595}},

      // Minimum 2.00 including 19 %: tax 2 × 19 / 119 = 0.31932773... → 319 328 micros.
      {"minimum including tax (gross)",
       Eur30With([](Tariff& t) {
         t.min_micros = 2'000'000;
         t.tax_ppm = 190'000;
       }),
       Usage(1000, t10, utc("11:00")),
       {.energy_micros = 300'000,
        .adjustment_micros = 1'700'000,
        .tax_micros = 319'328,
        .total_minor = 200,
        .cost_hundredths = 200}},

      // Rounded once: 1220 Wh × 0.25 = 0.305 net, tax 0.05795, total 0.36295 → 0.36 (rounding
      // each first would give 0.31 + 0.06 = 0.37).
      {"net total rounded once",
       Eur30With([](Tariff& t) {
         t.price_micros_per_kwh = 250'000;
         t.tax_ppm = 190'000;
         t.prices_exclude_tax = true;
       }),
       Usage(1220, t10, utc("11:00")),
       {.energy_micros = 305'000,
        .tax_micros = 57'950,
        .prices_exclude_tax = true,
        .total_minor = 36,
        .cost_hundredths = 36}},

      // KRW 10 % included: 263.55 / 11 = 23.959090909... → 23 959 091 micros; total 264.
      {"KRW tax included",
       [] {
         Tariff t = *MakeTariff(150, "KRW");
         t.tax_ppm = 100'000;
         return t;
       }(),
       Usage(1757, t10, utc("10:30")),
       {.energy_micros = 263'550'000,
        .tax_micros = 23'959'091,
        .total_minor = 264,
        .cost_hundredths = 26'400}},
  });
}

// All parts at once, Berlin (CET, UTC+1 in November): 0.40 EUR/kWh, 0.20 from 00:00 to 07:00,
// 0.02/min charging, 0.10/min idle after 10 min, 0.50 fee, 19 % included, max 20.00.
TEST(PriceSessionTest, EverythingTogether) {
  Tariff tariff = Base("EUR", 2, "berlin", "Europe/Berlin");
  tariff.price_micros_per_kwh = 400'000;
  tariff.charging_micros_per_minute = 20'000;
  tariff.idle_micros_per_minute = 100'000;
  tariff.idle_grace_minutes = 10;
  tariff.session_fee_micros = 500'000;
  tariff.tax_ppm = 190'000;
  tariff.max_micros = 20'000'000;
  tariff.periods = {Period(kEveryDay, 0, 7 * 60)};
  tariff.periods[0].energy_micros_per_kwh = 200'000;
  // 05:30Z-06:30Z charging (06:30-07:30 local) 12 000 Wh, then SuspendedEV until 07:00Z.
  // Energy: 6000 Wh at night × 200 + 6000 Wh by day × 400 = 1.20 + 2.40 = 3.60 EUR.
  // Charging 60 min × 0.02 = 1.20. Idle 30 min - 10 = 20 min × 0.10 = 2.00. Fee 0.50.
  // Sum 7.30; tax 7.30 × 19 / 119 = 1.165546218... → 1 165 546 micros.
  const SessionUsage usage =
      Usage(12'000, At("2026-11-23T05:30:00Z"), At("2026-11-23T07:00:00Z"),
            {{At("2026-11-23T05:30:00Z"), "Charging"}, {At("2026-11-23T06:30:00Z"), "SuspendedEV"}},
            {{At("2026-11-23T05:30:00Z"), At("2026-11-23T06:30:00Z"), 12'000}});
  const CostBreakdown expected = {.energy_micros = 3'600'000,
                                  .charging_time_micros = 1'200'000,
                                  .idle_micros = 2'000'000,
                                  .session_fee_micros = 500'000,
                                  .tax_micros = 1'165'546,
                                  .charging_ms = 3'600'000,
                                  .idle_ms = 1'200'000,
                                  .total_minor = 730,
                                  .cost_hundredths = 730};
  EXPECT_EQ(PriceSession(tariff, usage), expected);
}

// Only the total is rounded, to the currency's minor unit, half up; energy_micros is the exact
// value rounded half up to millionths.
TEST(PriceSessionTest, RoundsTheTotalToTheMinorUnit) {
  struct Case {
    int64_t energy_wh;
    double price;
    const char* currency;
    int64_t energy_micros, total_minor, cost_hundredths;
  };
  const TimePoint start = At("2026-11-23T10:00:00Z");
  for (const Case& c : std::vector<Case>{
           {1757, 150, "KRW", 263'550'000, 264, 26'400},  // 263.55 → 264
           {1753, 150, "KRW", 262'950'000, 263, 26'300},  // 262.95 → 263
           {1, 500, "KRW", 500'000, 1, 100},              // 0.5 → 1
           {3, 500, "KRW", 1'500'000, 2, 200},            // 1.5 → 2
           {1, 150, "KRW", 150'000, 0, 0},                // 0.15 → 0
           {1757, 150, "JPY", 263'550'000, 264, 26'400},
           {1757, 0.35, "EUR", 614'950, 61, 61},    // 0.61495 → 0.61
           {1757, 0.3528, "EUR", 619'870, 62, 62},  // 0.6198696 (619 869.6 micros) → 0.62
           {10, 0.5, "EUR", 5'000, 1, 1},           // 0.005 → 0.01
           {14, 0.35, "EUR", 4'900, 0, 0},          // 0.0049 → 0.00
           {10'000, 0.7, "EUR", 7'000'000, 700, 700},
           {123'456, 0.29, "EUR", 35'802'240, 3580, 3580},  // 35.80224
       }) {
    SCOPED_TRACE(::testing::Message() << c.energy_wh << " Wh at " << c.price << " " << c.currency);
    const Tariff tariff = *MakeTariff(c.price, c.currency);
    const CostBreakdown cost =
        PriceSession(tariff, Usage(c.energy_wh, start, start + std::chrono::minutes(30)));
    EXPECT_EQ(cost.energy_micros, c.energy_micros);
    EXPECT_EQ(cost.total_minor, c.total_minor);
    EXPECT_EQ(cost.cost_hundredths, c.cost_hundredths);
    EXPECT_EQ(cost.cost_hundredths, CostHundredths(c.energy_wh, tariff));
    EXPECT_EQ(cost.tax_micros, 0);
    EXPECT_EQ(cost.adjustment_micros, 0);
  }
}

// An energy-only tariff needs no times (beyond the brief: SessionUsage's times are optional).
TEST(PriceSessionTest, EnergyOnlyNeedsNoTimes) {
  SessionUsage usage;
  usage.energy_wh = 1757;
  const CostBreakdown cost = PriceSession(*MakeTariff(150, "KRW"), usage);
  EXPECT_EQ(cost.energy_micros, 263'550'000);
  EXPECT_EQ(cost.total_minor, 264);
  EXPECT_EQ(cost.cost_hundredths, 26'400);
}

Tariff WithPeriods(std::string time_zone, std::vector<TouPeriod> periods) {
  Tariff tariff = *MakeTariff(150, "KRW");
  tariff.time_zone = std::move(time_zone);
  tariff.periods = std::move(periods);
  return tariff;
}

TEST(PeriodAtTest, LocalWeekdaysAndMinutes) {
  struct Case {
    const char* name;
    Tariff tariff;
    TimePoint at;
    int period;
  };
  // Seoul, 22:00-06:00 on Mondays (2026-11-23 is a Monday).
  const Tariff monday_night = WithPeriods("Asia/Seoul", {Period(kMonday, 22 * 60, 6 * 60)});
  const Tariff sunday_monday_night =
      WithPeriods("Asia/Seoul", {Period(kMonday | kSunday, 22 * 60, 6 * 60)});
  const Tariff day_then_all =
      WithPeriods("Asia/Seoul", {Period(kEveryDay, 9 * 60, 18 * 60), Period(kEveryDay, 0, 1440)});
  const Tariff all_then_day =
      WithPeriods("Asia/Seoul", {Period(kEveryDay, 0, 1440), Period(kEveryDay, 9 * 60, 18 * 60)});
  const Tariff weekend = WithPeriods("Asia/Seoul", {Period(kSaturday | kSunday, 0, 1440)});
  const Tariff monday_24h = WithPeriods("Asia/Seoul", {Period(kMonday, 8 * 60, 8 * 60)});
  const Tariff monday_to_midnight = WithPeriods("Asia/Seoul", {Period(kMonday, 22 * 60, 1440)});
  // Berlin: 08:00-09:00 every day; Saturday 22:00-06:00; 02:00-03:00 every day.
  const Tariff berlin_morning = WithPeriods("Europe/Berlin", {Period(kEveryDay, 8 * 60, 9 * 60)});
  const Tariff berlin_saturday_night =
      WithPeriods("Europe/Berlin", {Period(kSaturday, 22 * 60, 6 * 60)});
  const Tariff berlin_two = WithPeriods("Europe/Berlin", {Period(kEveryDay, 2 * 60, 3 * 60)});

  for (const Case& c : std::vector<Case>{
           {"Monday 23:00", monday_night, Kst("2026-11-23T23:00"), 0},
           {"Tuesday 05:00 (runs past midnight)", monday_night, Kst("2026-11-24T05:00"), 0},
           {"Monday 05:00 (Sunday's night)", monday_night, Kst("2026-11-23T05:00"), -1},
           {"Monday 22:00 (start inclusive)", monday_night, Kst("2026-11-23T22:00"), 0},
           {"Monday 21:59:59", monday_night, At("2026-11-23T21:59:59+09:00"), -1},
           {"Tuesday 05:59:59", monday_night, At("2026-11-24T05:59:59+09:00"), 0},
           {"Tuesday 06:00 (end exclusive)", monday_night, Kst("2026-11-24T06:00"), -1},
           {"Tuesday 23:00", monday_night, Kst("2026-11-24T23:00"), -1},
           {"Sunday 22:00", monday_night, Kst("2026-11-22T22:00"), -1},
           {"Monday 23:00 UTC is Tuesday 08:00 KST", monday_night, At("2026-11-23T23:00:00Z"), -1},
           {"Monday 14:00 UTC is Monday 23:00 KST", monday_night, At("2026-11-23T14:00:00Z"), 0},
           {"Monday 05:00 with Sunday in the mask", sunday_monday_night, Kst("2026-11-23T05:00"),
            0},
           {"Sunday 23:00 with Sunday in the mask", sunday_monday_night, Kst("2026-11-22T23:00"),
            0},
           {"Saturday 23:00, Sunday in the mask", sunday_monday_night, Kst("2026-11-21T23:00"), -1},
           {"Sunday 05:00, Sunday in the mask (Saturday's night)", sunday_monday_night,
            Kst("2026-11-22T05:00"), -1},
           {"first period wins: 10:00", day_then_all, Kst("2026-11-23T10:00"), 0},
           {"first period wins: 20:00", day_then_all, Kst("2026-11-23T20:00"), 1},
           {"first period wins: 18:00", day_then_all, Kst("2026-11-23T18:00"), 1},
           {"first period wins: covered by both", all_then_day, Kst("2026-11-23T10:00"), 0},
           {"weekend: Saturday noon", weekend, Kst("2026-11-21T12:00"), 0},
           {"weekend: Sunday 23:59", weekend, Kst("2026-11-22T23:59"), 0},
           {"weekend: Monday 00:00", weekend, Kst("2026-11-23T00:00"), -1},
           {"weekend: Friday 23:59", weekend, Kst("2026-11-20T23:59"), -1},
           {"start == end: 24 hours from Monday 08:00", monday_24h, Kst("2026-11-23T08:00"), 0},
           {"start == end: Tuesday 07:59", monday_24h, Kst("2026-11-24T07:59"), 0},
           {"start == end: Tuesday 08:00", monday_24h, Kst("2026-11-24T08:00"), -1},
           {"start == end: Monday 07:59", monday_24h, Kst("2026-11-23T07:59"), -1},
           {"to 24:00: Monday 23:59", monday_to_midnight, Kst("2026-11-23T23:59"), 0},
           {"to 24:00: Tuesday 00:00", monday_to_midnight, Kst("2026-11-24T00:00"), -1},
           {"no periods", *MakeTariff(150, "KRW"), Kst("2026-11-23T23:00"), -1},
           // Berlin: CET (UTC+1) in winter, CEST (UTC+2) from 2026-03-29 01:00Z to 2026-10-25
           // 01:00Z.
           {"Berlin winter 07:30Z = 08:30 CET", berlin_morning, At("2026-01-05T07:30:00Z"), 0},
           {"Berlin summer 07:30Z = 09:30 CEST", berlin_morning, At("2026-07-06T07:30:00Z"), -1},
           {"Berlin summer 06:30Z = 08:30 CEST", berlin_morning, At("2026-07-06T06:30:00Z"), 0},
           {"Berlin 2026-03-28 07:30Z = 08:30 CET", berlin_morning, At("2026-03-28T07:30:00Z"), 0},
           {"Berlin 2026-03-29 07:30Z = 09:30 CEST", berlin_morning, At("2026-03-29T07:30:00Z"),
            -1},
           {"Berlin 2026-03-29 06:30Z = 08:30 CEST", berlin_morning, At("2026-03-29T06:30:00Z"), 0},
           {"Berlin 2026-10-24 06:30Z = 08:30 CEST", berlin_morning, At("2026-10-24T06:30:00Z"), 0},
           {"Berlin 2026-10-25 07:30Z = 08:30 CET", berlin_morning, At("2026-10-25T07:30:00Z"), 0},
           {"Berlin 2026-10-25 06:30Z = 07:30 CET", berlin_morning, At("2026-10-25T06:30:00Z"), -1},
           {"Berlin Saturday night, 21:30Z = 22:30 CET", berlin_saturday_night,
            At("2026-03-28T21:30:00Z"), 0},
           {"Berlin Saturday night, 20:30Z = 21:30 CET", berlin_saturday_night,
            At("2026-03-28T20:30:00Z"), -1},
           {"Berlin Saturday night, 03:30Z = 05:30 CEST", berlin_saturday_night,
            At("2026-03-29T03:30:00Z"), 0},
           {"Berlin Saturday night, 04:30Z = 06:30 CEST", berlin_saturday_night,
            At("2026-03-29T04:30:00Z"), -1},
           {"Berlin 02:30 CEST before the clocks go back", berlin_two, At("2026-10-25T00:30:00Z"),
            0},
           {"Berlin 02:30 CET after the clocks go back", berlin_two, At("2026-10-25T01:30:00Z"), 0},
           {"Berlin 03:30 CET", berlin_two, At("2026-10-25T02:30:00Z"), -1},
           {"Berlin 01:59:59 CET before the gap", berlin_two, At("2026-03-29T00:59:59Z"), -1},
           {"Berlin 03:00 CEST after the gap", berlin_two, At("2026-03-29T01:00:00Z"), -1},
       }) {
    EXPECT_EQ(PeriodAt(c.tariff, c.at), c.period) << c.name << " (" << FormatRfc3339(c.at) << ")";
  }
}

// A piece, comparable and printable.
struct Piece {
  std::string from, to;
  int period;
  bool operator==(const Piece&) const = default;
};
void PrintTo(const Piece& p, std::ostream* os) {
  *os << "[" << p.from << ", " << p.to << ") " << p.period;
}

// SplitByPeriods may cut a period's time into several pieces (at midnight, say): joined here.
// It checks that the pieces are consecutive, cover [from, to) and agree with PeriodAt.
std::vector<Piece> Joined(const Tariff& tariff, TimePoint from, TimePoint to) {
  const std::vector<PeriodPiece> pieces = SplitByPeriods(tariff, from, to);
  std::vector<Piece> joined;
  TimePoint at = from;
  for (const PeriodPiece& piece : pieces) {
    EXPECT_EQ(piece.from, at) << "not consecutive at " << FormatRfc3339(piece.from);
    EXPECT_LE(piece.from, piece.to);
    at = piece.to;
    if (piece.from == piece.to) continue;
    EXPECT_EQ(piece.period, PeriodAt(tariff, piece.from)) << FormatRfc3339(piece.from);
    if (!joined.empty() && joined.back().period == piece.period &&
        joined.back().to == FormatRfc3339(piece.from)) {
      joined.back().to = FormatRfc3339(piece.to);
    } else {
      joined.push_back({FormatRfc3339(piece.from), FormatRfc3339(piece.to), piece.period});
    }
  }
  EXPECT_EQ(at, to) << "the pieces end at " << FormatRfc3339(at);
  return joined;
}

TEST(SplitByPeriodsTest, CutsAtLocalBoundaries) {
  struct Case {
    const char* name;
    Tariff tariff;
    TimePoint from, to;
    std::vector<Piece> pieces;  // in UTC
  };
  const Tariff every_night = WithPeriods("Asia/Seoul", {Period(kEveryDay, 22 * 60, 6 * 60)});
  for (const Case& c : std::vector<Case>{
           {"no periods",
            *MakeTariff(150, "KRW"),
            At("2026-11-23T10:00:00Z"),
            At("2026-11-23T12:00:00Z"),
            {{"2026-11-23T10:00:00Z", "2026-11-23T12:00:00Z", -1}}},
           // Monday 21:00 KST to Tuesday 07:00 KST.
           {"Monday night in Seoul",
            WithPeriods("Asia/Seoul", {Period(kMonday, 22 * 60, 6 * 60)}),
            Kst("2026-11-23T21:00"),
            Kst("2026-11-24T07:00"),
            {{"2026-11-23T12:00:00Z", "2026-11-23T13:00:00Z", -1},
             {"2026-11-23T13:00:00Z", "2026-11-23T21:00:00Z", 0},
             {"2026-11-23T21:00:00Z", "2026-11-23T22:00:00Z", -1}}},
           // Sunday 21:00 to Monday 07:00 KST: Sunday is not in the mask.
           {"Monday night, from Sunday evening",
            WithPeriods("Asia/Seoul", {Period(kMonday, 22 * 60, 6 * 60)}),
            Kst("2026-11-22T21:00"),
            Kst("2026-11-23T07:00"),
            {{"2026-11-22T12:00:00Z", "2026-11-22T22:00:00Z", -1}}},
           {"two nights",
            every_night,
            Kst("2026-11-23T21:00"),
            Kst("2026-11-25T07:00"),
            {{"2026-11-23T12:00:00Z", "2026-11-23T13:00:00Z", -1},
             {"2026-11-23T13:00:00Z", "2026-11-23T21:00:00Z", 0},
             {"2026-11-23T21:00:00Z", "2026-11-24T13:00:00Z", -1},
             {"2026-11-24T13:00:00Z", "2026-11-24T21:00:00Z", 0},
             {"2026-11-24T21:00:00Z", "2026-11-24T22:00:00Z", -1}}},
           {"inside one period across midnight",
            every_night,
            Kst("2026-11-23T23:00"),
            Kst("2026-11-24T01:00"),
            {{"2026-11-23T14:00:00Z", "2026-11-23T16:00:00Z", 0}}},
           {"seconds either side of a boundary",
            every_night,
            At("2026-11-23T21:59:30+09:00"),
            At("2026-11-23T22:00:30+09:00"),
            {{"2026-11-23T12:59:30Z", "2026-11-23T13:00:00Z", -1},
             {"2026-11-23T13:00:00Z", "2026-11-23T13:00:30Z", 0}}},
           // 08:00-19:00 KST: the all-day period 1 around the day period 0.
           {"first period wins",
            WithPeriods("Asia/Seoul",
                        {Period(kEveryDay, 9 * 60, 18 * 60), Period(kEveryDay, 0, 1440)}),
            Kst("2026-11-23T08:00"),
            Kst("2026-11-23T19:00"),
            {{"2026-11-22T23:00:00Z", "2026-11-23T00:00:00Z", 1},
             {"2026-11-23T00:00:00Z", "2026-11-23T09:00:00Z", 0},
             {"2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z", 1}}},
           // 08:00-09:00 Berlin: 07:00Z in CET on Saturday, 06:00Z in CEST on Sunday.
           {"Berlin, clocks go forward",
            WithPeriods("Europe/Berlin", {Period(kEveryDay, 8 * 60, 9 * 60)}),
            At("2026-03-28T00:00:00Z"),
            At("2026-03-30T00:00:00Z"),
            {{"2026-03-28T00:00:00Z", "2026-03-28T07:00:00Z", -1},
             {"2026-03-28T07:00:00Z", "2026-03-28T08:00:00Z", 0},
             {"2026-03-28T08:00:00Z", "2026-03-29T06:00:00Z", -1},
             {"2026-03-29T06:00:00Z", "2026-03-29T07:00:00Z", 0},
             {"2026-03-29T07:00:00Z", "2026-03-30T00:00:00Z", -1}}},
           // 02:00-03:00 Berlin happens twice on 2026-10-25: 00:00Z-01:00Z (CEST) and
           // 01:00Z-02:00Z (CET).
           {"Berlin, clocks go back",
            WithPeriods("Europe/Berlin", {Period(kEveryDay, 2 * 60, 3 * 60)}),
            At("2026-10-24T23:00:00Z"),
            At("2026-10-25T03:00:00Z"),
            {{"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", -1},
             {"2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", 0},
             {"2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z", -1}}},
           // ... and not at all on 2026-03-29 (02:00 CET is 03:00 CEST).
           {"Berlin, the skipped hour",
            WithPeriods("Europe/Berlin", {Period(kEveryDay, 2 * 60, 3 * 60)}),
            At("2026-03-28T23:00:00Z"),
            At("2026-03-29T03:00:00Z"),
            {{"2026-03-28T23:00:00Z", "2026-03-29T03:00:00Z", -1}}},
       }) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Joined(c.tariff, c.from, c.to), c.pieces);
  }
}

// A valid tariff in the network's currency KRW.
v1::Tariff ValidProto() {
  v1::Tariff proto;
  proto.set_tariff_id("seoul.night-v2_1");
  proto.set_version(3);
  proto.set_currency("KRW");
  proto.set_time_zone("Asia/Seoul");
  proto.set_energy_price_per_kwh(150);
  proto.set_charging_price_per_minute(0.5);
  proto.set_idle_price_per_minute(100);
  proto.set_idle_grace_minutes(10);
  proto.set_session_fee(1000);
  proto.set_tax_rate_percent(10);
  proto.set_min_price(500);
  proto.set_max_price(100'000);
  proto.set_display_text("Night 100 KRW/kWh");
  v1::TariffPeriod* night = proto.add_periods();
  night->add_weekdays(1);
  night->add_weekdays(7);
  night->set_start_time("22:00");
  night->set_end_time("06:00");
  night->set_energy_price_per_kwh(100);
  v1::TariffPeriod* all_day = proto.add_periods();
  all_day->set_start_time("00:00");
  all_day->set_end_time("24:00");
  all_day->set_charging_price_per_minute(0.25);
  return proto;
}

TEST(TariffFromProtoTest, ConvertsAValidTariff) {
  const auto result = TariffFromProto(ValidProto(), "KRW");
  ASSERT_TRUE(std::holds_alternative<Tariff>(result)) << std::get<std::string>(result);
  const Tariff& t = std::get<Tariff>(result);
  EXPECT_EQ(t.tariff_id, "seoul.night-v2_1");
  EXPECT_EQ(t.version, 3);
  EXPECT_EQ(t.currency, "KRW");
  EXPECT_EQ(t.minor_unit_digits, 0);
  EXPECT_EQ(t.time_zone, "Asia/Seoul");
  EXPECT_EQ(t.price_micros_per_kwh, 150'000'000);
  EXPECT_EQ(t.charging_micros_per_minute, 500'000);
  EXPECT_EQ(t.idle_micros_per_minute, 100'000'000);
  EXPECT_EQ(t.idle_grace_minutes, 10);
  EXPECT_EQ(t.session_fee_micros, 1'000'000'000);
  EXPECT_EQ(t.tax_ppm, 100'000);
  EXPECT_FALSE(t.prices_exclude_tax);
  EXPECT_EQ(t.min_micros, 500'000'000);
  EXPECT_EQ(t.max_micros, 100'000'000'000);
  EXPECT_EQ(t.display_text, "Night 100 KRW/kWh");
  ASSERT_EQ(t.periods.size(), 2u);
  EXPECT_EQ(int{t.periods[0].weekdays}, kMonday | kSunday);  // ISO 1 and 7
  EXPECT_EQ(t.periods[0].start_minute, 22 * 60);
  EXPECT_EQ(t.periods[0].end_minute, 6 * 60);
  EXPECT_EQ(t.periods[0].energy_micros_per_kwh, 100'000'000);
  EXPECT_FALSE(t.periods[0].charging_micros_per_minute.has_value());
  EXPECT_EQ(int{t.periods[1].weekdays}, kEveryDay);  // none listed: every day
  EXPECT_EQ(t.periods[1].start_minute, 0);
  EXPECT_EQ(t.periods[1].end_minute, 1440);
  EXPECT_FALSE(t.periods[1].energy_micros_per_kwh.has_value());
  EXPECT_EQ(t.periods[1].charging_micros_per_minute, 250'000);
}

TEST(TariffFromProtoTest, ConvertsPricesAndPercentages) {
  struct Case {
    const char* name;
    std::function<void(v1::Tariff&)> change;
    std::function<int64_t(const Tariff&)> field;
    int64_t expected;
  };
  auto energy = [](const Tariff& t) { return t.price_micros_per_kwh; };
  auto tax = [](const Tariff& t) { return t.tax_ppm; };
  for (const Case& c : std::vector<Case>{
           {"0.29 EUR", [](v1::Tariff& p) { p.set_energy_price_per_kwh(0.29); }, energy, 290'000},
           {"0.1", [](v1::Tariff& p) { p.set_energy_price_per_kwh(0.1); }, energy, 100'000},
           {"0.0000005 rounds up", [](v1::Tariff& p) { p.set_energy_price_per_kwh(0.0000005); },
            energy, 1},
           {"0.0000004 rounds down", [](v1::Tariff& p) { p.set_energy_price_per_kwh(0.0000004); },
            energy, 0},
           {"free", [](v1::Tariff& p) { p.set_energy_price_per_kwh(0); }, energy, 0},
           {"7.7 %", [](v1::Tariff& p) { p.set_tax_rate_percent(7.7); }, tax, 77'000},
           {"19 %", [](v1::Tariff& p) { p.set_tax_rate_percent(19); }, tax, 190'000},
           {"0 %", [](v1::Tariff& p) { p.set_tax_rate_percent(0); }, tax, 0},
           {"100 %", [](v1::Tariff& p) { p.set_tax_rate_percent(100); }, tax, 1'000'000},
           {"0.00005 % rounds up", [](v1::Tariff& p) { p.set_tax_rate_percent(0.00005); }, tax, 1},
           {"net prices", [](v1::Tariff& p) { p.set_prices_exclude_tax(true); },
            [](const Tariff& t) -> int64_t { return t.prices_exclude_tax; }, 1},
           {"EUR has 2 decimals", [](v1::Tariff& p) { p.set_currency("EUR"); },
            [](const Tariff& t) -> int64_t { return t.minor_unit_digits; }, 2},
       }) {
    SCOPED_TRACE(c.name);
    v1::Tariff proto = ValidProto();
    c.change(proto);
    const auto result = TariffFromProto(proto, proto.currency());
    ASSERT_TRUE(std::holds_alternative<Tariff>(result)) << std::get<std::string>(result);
    EXPECT_EQ(c.field(std::get<Tariff>(result)), c.expected);
  }

  v1::Tariff no_bounds = ValidProto();
  no_bounds.clear_min_price();
  no_bounds.clear_max_price();
  const auto result = TariffFromProto(no_bounds, "KRW");
  ASSERT_TRUE(std::holds_alternative<Tariff>(result)) << std::get<std::string>(result);
  EXPECT_FALSE(std::get<Tariff>(result).min_micros.has_value());
  EXPECT_FALSE(std::get<Tariff>(result).max_micros.has_value());
}

TEST(TariffFromProtoTest, AcceptsEdgeValues) {
  struct Case {
    const char* name;
    std::function<void(v1::Tariff&)> change;
  };
  for (const Case& c : std::vector<Case>{
           {"min == max",
            [](v1::Tariff& p) {
              p.set_min_price(700);
              p.set_max_price(700);
            }},
           {"only a minimum", [](v1::Tariff& p) { p.clear_max_price(); }},
           {"only a maximum", [](v1::Tariff& p) { p.clear_min_price(); }},
           {"64 characters", [](v1::Tariff& p) { p.set_tariff_id(std::string(64, 'a')); }},
           {"one character", [](v1::Tariff& p) { p.set_tariff_id("x"); }},
           {"every allowed character",
            [](v1::Tariff& p) { p.set_tariff_id("ABCXYZabcxyz0189._-"); }},
           {"no periods", [](v1::Tariff& p) { p.clear_periods(); }},
           {"all weekdays",
            [](v1::Tariff& p) {
              for (int day = 1; day <= 7; ++day) p.mutable_periods(1)->add_weekdays(day);
            }},
           {"end 00:00", [](v1::Tariff& p) { p.mutable_periods(0)->set_end_time("00:00"); }},
           {"23:59", [](v1::Tariff& p) { p.mutable_periods(0)->set_start_time("23:59"); }},
           {"UTC", [](v1::Tariff& p) { p.set_time_zone("UTC"); }},
           {"Europe/Berlin", [](v1::Tariff& p) { p.set_time_zone("Europe/Berlin"); }},
       }) {
    v1::Tariff proto = ValidProto();
    c.change(proto);
    const auto result = TariffFromProto(proto, "KRW");
    EXPECT_TRUE(std::holds_alternative<Tariff>(result))
        << c.name << ": " << std::get<std::string>(result);
  }
}

TEST(TariffFromProtoTest, ErrorNamesTheField) {
  struct Case {
    const char* name;
    std::function<void(v1::Tariff&)> change;
    std::vector<std::string> field;  // the error names one of these
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Case& c : std::vector<Case>{
           {"another currency", [](v1::Tariff& p) { p.set_currency("EUR"); }, {"currency"}},
           {"no currency", [](v1::Tariff& p) { p.set_currency(""); }, {"currency"}},
           {"negative energy price",
            [](v1::Tariff& p) { p.set_energy_price_per_kwh(-1); },
            {"energy_price_per_kwh"}},
           {"NaN energy price",
            [nan](v1::Tariff& p) { p.set_energy_price_per_kwh(nan); },
            {"energy_price_per_kwh"}},
           {"negative charging price",
            [](v1::Tariff& p) { p.set_charging_price_per_minute(-0.01); },
            {"charging_price_per_minute"}},
           {"NaN idle price",
            [nan](v1::Tariff& p) { p.set_idle_price_per_minute(nan); },
            {"idle_price_per_minute"}},
           {"negative idle price",
            [](v1::Tariff& p) { p.set_idle_price_per_minute(-5); },
            {"idle_price_per_minute"}},
           {"negative session fee", [](v1::Tariff& p) { p.set_session_fee(-1); }, {"session_fee"}},
           {"negative minimum", [](v1::Tariff& p) { p.set_min_price(-1); }, {"min_price"}},
           {"NaN maximum", [nan](v1::Tariff& p) { p.set_max_price(nan); }, {"max_price"}},
           {"negative period energy price",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_energy_price_per_kwh(-100); },
            {"energy_price_per_kwh"}},
           {"NaN period charging price",
            [nan](v1::Tariff& p) { p.mutable_periods(1)->set_charging_price_per_minute(nan); },
            {"charging_price_per_minute"}},
           {"tax below 0", [](v1::Tariff& p) { p.set_tax_rate_percent(-1); }, {"tax_rate_percent"}},
           {"tax above 100",
            [](v1::Tariff& p) { p.set_tax_rate_percent(100.5); },
            {"tax_rate_percent"}},
           {"NaN tax", [nan](v1::Tariff& p) { p.set_tax_rate_percent(nan); }, {"tax_rate_percent"}},
           {"min > max",
            [](v1::Tariff& p) {
              p.set_min_price(5);
              p.set_max_price(4);
            },
            {"min_price", "max_price"}},
           {"start 7:00",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_start_time("7:00"); },
            {"start_time"}},
           {"start 12:60",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_start_time("12:60"); },
            {"start_time"}},
           {"start 25:00",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_start_time("25:00"); },
            {"start_time"}},
           {"start empty",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_start_time(""); },
            {"start_time"}},
           {"start with seconds",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_start_time("12:00:00"); },
            {"start_time"}},
           {"start not digits",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_start_time("ab:cd"); },
            {"start_time"}},
           {"start -1:00",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_start_time("-1:00"); },
            {"start_time"}},
           {"end 24:01",
            [](v1::Tariff& p) { p.mutable_periods(0)->set_end_time("24:01"); },
            {"end_time"}},
           {"end 6", [](v1::Tariff& p) { p.mutable_periods(1)->set_end_time("6"); }, {"end_time"}},
           {"weekday 0",
            [](v1::Tariff& p) { p.mutable_periods(0)->add_weekdays(0); },
            {"weekdays"}},
           {"weekday 8",
            [](v1::Tariff& p) { p.mutable_periods(1)->add_weekdays(8); },
            {"weekdays"}},
           {"unknown time zone",
            [](v1::Tariff& p) { p.set_time_zone("Mars/Olympus_Mons"); },
            {"time_zone"}},
           {"empty time zone", [](v1::Tariff& p) { p.set_time_zone(""); }, {"time_zone"}},
           {"empty tariff_id", [](v1::Tariff& p) { p.set_tariff_id(""); }, {"tariff_id"}},
           {"tariff_id with a space",
            [](v1::Tariff& p) { p.set_tariff_id("seoul night"); },
            {"tariff_id"}},
           {"tariff_id with a slash", [](v1::Tariff& p) { p.set_tariff_id("a/b"); }, {"tariff_id"}},
           {"tariff_id not ASCII",
            [](v1::Tariff& p) { p.set_tariff_id("caf\xc3\xa9"); },
            {"tariff_id"}},
           {"tariff_id of 65 characters",
            [](v1::Tariff& p) { p.set_tariff_id(std::string(65, 'a')); },
            {"tariff_id"}},
       }) {
    v1::Tariff proto = ValidProto();
    c.change(proto);
    const auto result = TariffFromProto(proto, "KRW");
    const std::string* error = std::get_if<std::string>(&result);
    if (error == nullptr) {
      ADD_FAILURE() << c.name << ": accepted";
      continue;
    }
    bool named = false;
    for (const std::string& field : c.field) named |= error->find(field) != std::string::npos;
    EXPECT_TRUE(named) << c.name << ": \"" << *error << "\" does not name " << c.field[0];
  }
}

// Beyond the brief (which names negative and NaN): an infinite price cannot become micros.
TEST(TariffFromProtoTest, RejectsInfinitePrices) {
  v1::Tariff proto = ValidProto();
  proto.set_energy_price_per_kwh(std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::holds_alternative<std::string>(TariffFromProto(proto, "KRW")));
}

}  // namespace
}  // namespace csms::billing
