#pragma once

// The billing rules, free of any database or network: how one transaction event changes a
// session, and what the session's energy costs. Events may arrive in any order, twice, or
// without their Started; these functions give the same session whatever the arrival order.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "csms/common/time_util.h"
#include "csms/ocpp/v1/events.pb.h"

namespace csms::billing {

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

// Energy delivered: last register minus first, whole Wh, never negative; 0 until both are known.
int64_t EnergyWh(const std::optional<MeterReading>& start, const std::optional<MeterReading>& stop);

// "25.500" for (25500, 3): exact decimal text for PostgreSQL numeric columns.
std::string FormatScaled(int64_t value, int decimals);

// One charging session as the ledger keeps it.
struct SessionState {
  std::string transaction_id;
  std::string charger_id;
  std::string station_id;
  std::string user_id;
  std::optional<Position> user_id_at;  // the event the user_id came from
  std::optional<TimePoint> start_time;
  std::optional<TimePoint> end_time;
  std::string stop_reason;
  std::optional<MeterReading> meter_start;
  bool meter_start_explicit = false;  // from a Transaction.Begin reading, not the first register
  std::optional<MeterReading> meter_stop;
  bool started_seen = false;
  bool ended = false;
  int64_t event_count = 0;
  int64_t energy_wh = 0;
  int64_t cost_hundredths = 0;
  std::string currency;
  std::optional<TimePoint> updated_at;  // set by the store
};

// Fills what the gateway may have left out (timestamps from `now`, received_at) and truncates
// timestamps to milliseconds, the precision OCPP uses and the ledger stores.
void NormalizeEvent(TimePoint now, ocpp::v1::TransactionEvent* event);

// Folds one new (never seen before) event into the session and recomputes energy and cost.
void MergeEvent(const ocpp::v1::TransactionEvent& event, const Tariff& tariff,
                SessionState* session);

}  // namespace csms::billing
