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

#include "csms/billing/tariff.h"
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
  // Each billed rise between two readings, where and when it happened (for time of use).
  std::vector<EnergySpan> spans;
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
  // The tariff version that prices the session ("" and 0: the flags' tariff), chosen by the
  // store when the session opens, and what the cost is made of.
  std::string tariff_id;
  int tariff_version = 0;
  CostBreakdown cost;
  // The most power the session's EVSE can deliver (W, from the device model), when known: it
  // judges the readings instead of the configured ceiling.
  std::optional<double> max_power_w;
  std::optional<TimePoint> updated_at;  // set by the store
};

// What the ledger keeps of a transaction's events beyond the session row, for the sessions
// whose energy or price needs more than the session itself.
struct TransactionRecord {
  std::vector<MeterReading> readings;  // every register reading
  // Every charging state, in event position order (loaded for tariffs that price time).
  std::vector<std::pair<Position, ChargingStateAt>> states;
  std::vector<EnergySpan> intervals;  // Energy.Active.Import.Interval sums, at their events
  std::optional<TimePoint> latest;    // the latest event's (effective) time
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
// order), the session's explicit Transaction.Begin reading and, for a tariff that prices time,
// its charging states.
void SettleSession(TransactionRecord record, const Tariff& tariff, SessionState* session,
                   const MeterLimits& limits = {});
// SettleSession with the readings alone.
void SettleEnergy(std::vector<MeterReading> readings, const Tariff& tariff, SessionState* session,
                  const MeterLimits& limits = {});

// MergeEvent plus SettleEnergy without the other readings, when the session alone decides the
// energy: the event carries no reading and leaves the Transaction.Begin value as it was, or it
// is the first reading, or its reading comes after every earlier one, no lower than the last,
// in a session without resets or implausible rises, and the rise is plausible; and the tariff
// prices energy only. Gives exactly what SettleSession with every event would. Returns false
// (the event merged, energy not settled) when all events are needed.
bool MergeAndSettle(const ocpp::v1::TransactionEvent& event, const Tariff& tariff,
                    SessionState* session, const MeterLimits& limits = {});

}  // namespace csms::billing
