#pragma once

// Tariffs and what a session costs under one, free of any database or network. Money is exact:
// prices are integers in millionths of the currency unit, every component is computed exactly
// and only the total is rounded, half up, once, to the currency's minor unit.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "csms/billing/v1/billing.pb.h"
#include "csms/common/time_util.h"

namespace csms::billing {

// A time-of-use period: local time in the tariff's time zone, on some weekdays.
struct TouPeriod {
  uint8_t weekdays = 0x7f;  // bit 0 Monday .. bit 6 Sunday (of the day the period starts)
  int start_minute = 0;     // minutes after local midnight, inclusive
  int end_minute = 1440;    // exclusive; at or before start_minute: runs into the next day
  std::optional<int64_t> energy_micros_per_kwh;       // unset: the tariff's own
  std::optional<int64_t> charging_micros_per_minute;  // unset: the tariff's own
};

// One tariff version. The billing flags (--price-per-kwh, --currency) make one with an energy
// price only and an empty tariff_id.
struct Tariff {
  int64_t price_micros_per_kwh = 0;  // millionths of the currency unit per kWh
  std::string currency;
  int minor_unit_digits = 2;  // the currency's decimals (ISO 4217), at most 2 (see MakeTariff)

  std::string tariff_id;  // "" for the flags' tariff
  int version = 0;
  int64_t charging_micros_per_minute = 0;  // per minute in chargingState Charging
  int64_t idle_micros_per_minute = 0;      // per minute plugged in after charging stopped
  int idle_grace_minutes = 0;
  int64_t session_fee_micros = 0;
  int64_t tax_ppm = 0;              // tax rate in parts per million (10 % = 100'000)
  bool prices_exclude_tax = false;  // false: prices include the tax
  std::optional<int64_t> min_micros, max_micros;
  std::vector<TouPeriod> periods;  // the first that covers an instant sets its prices
  std::string time_zone;           // IANA name the periods are in
  std::string display_text;

  // The price follows from the session's energy alone: no time of use, no time prices.
  bool EnergyOnly() const;
};

// The decimals of an ISO 4217 currency: 0 for KRW, JPY and the like, 3 for BHD, KWD, ..., else 2.
int CurrencyDigits(const std::string& currency);

// The flags' tariff. Nullopt when the price is negative, not a number, or too large to be a real
// tariff. Costs are stored in hundredths, so a currency with 3 decimals is rounded to 2.
std::optional<Tariff> MakeTariff(double price_per_kwh, std::string currency);

// A stored tariff version from its API form; the error names the field that is wrong.
// `currency` is the network's (billing's --currency): a tariff must use it. An empty time zone
// is an error here: the caller fills in the default before it stores the tariff.
std::variant<Tariff, std::string> TariffFromProto(const v1::Tariff& proto,
                                                  const std::string& currency);

// What a session used, for pricing.
struct EnergySpan {
  TimePoint from, to;  // from == to: delivered at an instant (an interval reading)
  double wh = 0;
};
struct ChargingStateAt {
  TimePoint at;
  std::string state;  // OCPP ChargingStateEnumType: Charging, EVConnected, SuspendedEV, ...
};
struct SessionUsage {
  int64_t energy_wh = 0;          // the billed energy, whole Wh
  std::vector<EnergySpan> spans;  // where it was delivered; time of use shares it out by them
  // Every change of charging state, in the order the events came in the transaction. With
  // none, the whole session counts as charging (the seed's dialect has no states).
  std::vector<ChargingStateAt> states;
  std::optional<TimePoint> start;
  std::optional<TimePoint> end;  // the session's end, or while it runs its latest event
};

struct CostBreakdown {
  int64_t energy_micros = 0;
  int64_t charging_time_micros = 0;
  int64_t idle_micros = 0;
  int64_t session_fee_micros = 0;
  int64_t adjustment_micros = 0;  // what the minimum or maximum price added (negative: took off)
  int64_t tax_micros = 0;         // the tax the total includes
  bool prices_exclude_tax = false;
  int64_t charging_ms = 0;  // time charged (each period at its own price)
  int64_t idle_ms = 0;      // idle time billed, after the grace period
  int64_t total_minor = 0;  // the cost in the currency's minor unit
  int64_t cost_hundredths = 0;
  bool operator==(const CostBreakdown&) const = default;
};

// The session's cost under the tariff. The session fee and the minimum price apply only to a
// session that delivered energy; the maximum always. Idle time runs from the end of the last
// Charging state while the car stays plugged in (EVConnected, SuspendedEV, SuspendedEVSE), the
// grace period first.
CostBreakdown PriceSession(const Tariff& tariff, const SessionUsage& usage);

// energy_kWh × price rounded half up once, to the currency's minor unit (KRW: whole won, so
// 1.757 kWh at 150 is 264, not 263.55), in hundredths of the currency unit.
int64_t CostHundredths(int64_t energy_wh, const Tariff& tariff);

// The index of the period in force at `t` (-1: none, the tariff's own prices).
int PeriodAt(const Tariff& tariff, TimePoint t);
// [from, to) in consecutive pieces, each in one period (or none).
struct PeriodPiece {
  TimePoint from, to;
  int period = -1;
};
std::vector<PeriodPiece> SplitByPeriods(const Tariff& tariff, TimePoint from, TimePoint to);

}  // namespace csms::billing
