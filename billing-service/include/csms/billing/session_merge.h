#pragma once

// The billing rules, free of any database or network: how one transaction event changes a
// session, and what the session's energy costs. Events may arrive in any order, twice, or
// without their Started; these functions give the same session whatever the arrival order.

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "csms/common/time_util.h"
#include "csms/ocpp/v1/events.pb.h"

namespace csms::billing {

// When a station clock is clearly wrong. An event is clock-suspect when its timestamp lies more
// than kMaxClockLead after the gateway received it (no event can come from the future), or before
// kClockFloor (unsynchronised clocks report 1970 or 2000). Old timestamps above the floor are
// normal for offline backlogs and are trusted.
inline constexpr std::chrono::minutes kMaxClockLead{5};
inline constexpr TimePoint kClockFloor{std::chrono::seconds(1'577'836'800)};  // 2020-01-01T00Z

bool ClockSuspect(const ocpp::v1::TransactionEvent& event);
// The time an event counts at for start, end and daily-stats dating: received_at when the
// station clock is suspect, else the station's own timestamp.
TimePoint EffectiveTime(const ocpp::v1::TransactionEvent& event);

// Where an event sits inside its transaction: order_key first, the station timestamp breaks ties.
struct Position {
  int64_t order_key = 0;
  TimePoint time{};
  auto operator<=>(const Position&) const = default;
};

struct MeterReading {
  double wh = 0;
  Position at;
  bool operator==(const MeterReading&) const = default;
};

// The price of energy. Money is kept in integers so that 25.5 kWh at 150 is exactly 3825.
struct Tariff {
  int64_t price_micros_per_kwh = 0;  // millionths of the currency unit per kWh
  std::string currency;
  int minor_unit_digits = 2;  // the currency's decimals (ISO 4217), at most 2 (see MakeTariff)
};

// The decimals of an ISO 4217 currency: 0 for KRW, JPY and the like, 3 for BHD, KWD, ..., else 2.
int CurrencyDigits(const std::string& currency);

// Nullopt when the price is negative, not a number, or too large to be a real tariff. Costs are
// stored in hundredths, so a currency with 3 decimals is rounded to 2.
std::optional<Tariff> MakeTariff(double price_per_kwh, std::string currency);

// energy_kWh × price rounded half up once, to the currency's minor unit (KRW: whole won, so
// 1.757 kWh at 150 is 264, not 263.55), in hundredths of the currency unit.
int64_t CostHundredths(int64_t energy_wh, const Tariff& tariff);

// What a reading may plausibly add: the most an EVSE can deliver. A rise between two readings
// above max_power_w × (the time between them + kReadingTimeSlack) is not energy but a meter
// fault or a placeholder (a Transaction.Begin of 0 followed by the lifetime register), and is
// never billed. The slack absorbs whole-second timestamps and a station's sampling jitter.
inline constexpr double kDefaultMaxPowerW = 500'000;
inline constexpr std::chrono::seconds kReadingTimeSlack{60};
struct MeterLimits {
  double max_power_w = kDefaultMaxPowerW;  // 0: no check
};

// Whether `to` can follow `from` (a rise within the limits; a fall is a reset, not judged here).
// A `from` taken at the epoch has no known time (TransactionEvent.meter_start_time): not judged.
bool PlausibleRise(const MeterReading& from, const MeterReading& to, const MeterLimits& limits);

struct RegisterEnergy {
  int64_t wh = 0;                 // whole Wh, never negative
  int64_t resets = 0;             // steps where the register went down (meter replaced or reset)
  int64_t implausible = 0;        // rises above MeterLimits, not billed
  std::string first_implausible;  // what the first such rise was, for an operator
};

// Energy delivered by a transaction from its register readings, in any order (sorted here by
// position). A register only rises within a transaction, so each run of non-decreasing readings
// is one segment worth its last minus its first; a decrease starts a new segment and that step
// counts 0. So does an implausible rise: billing goes on from the reading after it. Without
// either this is exactly last minus first. `begin`, the Transaction.Begin reading, opens the
// first segment when present.
RegisterEnergy EnergyFromRegisters(std::optional<MeterReading> begin,
                                   std::vector<MeterReading> readings,
                                   const MeterLimits& limits = {});

// "25.500" for (25500, 3): exact decimal text for PostgreSQL numeric columns.
std::string FormatScaled(int64_t value, int decimals);

// One charging session as the ledger keeps it.
struct SessionState {
  std::string transaction_id;
  std::string charger_id;
  std::string station_id;
  std::string user_id;
  std::optional<Position> user_id_at;  // the event the user_id came from
  // The same event's token type and the CSMS's decision on the token (id_token_decision).
  std::string id_token_type, account_id, authorization_status, authorization_reason;
  bool authorization_flagged = false;
  std::optional<TimePoint> start_time;
  std::optional<TimePoint> end_time;
  std::string stop_reason;
  std::optional<MeterReading> meter_start;
  bool meter_start_explicit = false;  // from a Transaction.Begin reading, not the first register
  std::optional<MeterReading> meter_stop;
  bool started_seen = false;
  bool ended = false;
  bool clock_suspect = false;  // some event had a clock-suspect timestamp
  int64_t event_count = 0;
  int64_t energy_wh = 0;
  int64_t meter_resets = 0;
  // Register rises that MeterLimits call implausible; not billed. Any makes the session need an
  // operator's review, review_reason saying why.
  int64_t implausible_readings = 0;
  // Sum of the Energy.Active.Import.Interval values of the session's events, in Wh: its energy
  // when no event carries a register reading.
  double interval_wh = 0;
  bool needs_review = false;
  std::string review_reason;
  int64_t cost_hundredths = 0;
  std::string currency;
  std::optional<TimePoint> updated_at;  // set by the store
};

// Fills what the gateway may have left out (timestamps from `now`, received_at) and truncates
// timestamps to milliseconds, the precision OCPP uses and the ledger stores.
void NormalizeEvent(TimePoint now, ocpp::v1::TransactionEvent* event);

// Folds one new (never seen before) event into the session: times, token, first and last
// registers, flags. Energy needs every reading, so SettleEnergy follows.
void MergeEvent(const ocpp::v1::TransactionEvent& event, SessionState* session);

// The event's register reading at its position, if it carries one.
std::optional<MeterReading> RegisterReading(const ocpp::v1::TransactionEvent& event);

// Sets energy, resets, cost and currency from all the transaction's register readings (any
// order) and the session's explicit Transaction.Begin reading.
void SettleEnergy(std::vector<MeterReading> readings, const Tariff& tariff, SessionState* session,
                  const MeterLimits& limits = {});

// MergeEvent plus SettleEnergy without the other readings, when the session alone decides the
// energy: the event carries no reading and leaves the Transaction.Begin value as it was, or it
// is the first reading, or its reading comes after every earlier one, no lower than the last,
// in a session without resets or implausible rises, and the rise is plausible. Gives exactly
// what SettleEnergy with every reading would. Returns false (the event merged, energy not
// settled) when all readings are needed.
bool MergeAndSettle(const ocpp::v1::TransactionEvent& event, const Tariff& tariff,
                    SessionState* session, const MeterLimits& limits = {});

}  // namespace csms::billing
