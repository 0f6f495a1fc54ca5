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
};

// The price of energy. Money is kept in integers so that 25.5 kWh at 150 is exactly 3825.
struct Tariff {
  int64_t price_micros_per_kwh = 0;  // millionths of the currency unit per kWh
  std::string currency;
};

// Nullopt when the price is negative, not a number, or too large to be a real tariff.
std::optional<Tariff> MakeTariff(double price_per_kwh, std::string currency);

// round(energy_kWh × price, 2), in hundredths of the currency unit, half up.
int64_t CostHundredths(int64_t energy_wh, const Tariff& tariff);

struct RegisterEnergy {
  int64_t wh = 0;      // whole Wh, never negative
  int64_t resets = 0;  // steps where the register went down (meter replaced or reset)
};

// Energy delivered by a transaction from its register readings, in any order (sorted here by
// position). A register only rises within a transaction, so each run of non-decreasing readings
// is one segment worth its last minus its first; a decrease starts a new segment and that step
// counts 0. Without a reset this is exactly last minus first. `begin_wh`, the Transaction.Begin
// reading, opens the first segment when present.
RegisterEnergy EnergyFromRegisters(std::optional<double> begin_wh,
                                   std::vector<MeterReading> readings);

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
void SettleEnergy(std::vector<MeterReading> readings, const Tariff& tariff, SessionState* session);

// MergeEvent plus SettleEnergy without the other readings, when the session alone decides the
// energy: the event carries no reading and leaves the Transaction.Begin value as it was, or it
// is the first reading, or its reading comes after every earlier one, no lower than the last,
// in a session without resets. Gives exactly what SettleEnergy with every reading would. Returns
// false (the event merged, energy not settled) when all readings are needed.
bool MergeAndSettle(const ocpp::v1::TransactionEvent& event, const Tariff& tariff,
                    SessionState* session);

}  // namespace csms::billing
