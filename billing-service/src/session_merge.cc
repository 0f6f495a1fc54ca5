#include "csms/billing/session_merge.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace csms::billing {
namespace {

using ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;
using ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED;

// Far above any real session (100 GWh) and any real tariff; keeps the integer cost math in range.
constexpr int64_t kMaxEnergyWh = 100'000'000'000;
constexpr double kMaxPricePerKwh = 1'000'000;

// Readings at the same position are told apart by value (registers only rise), so the outcome
// never depends on which of them arrived first.
bool Before(const MeterReading& a, const MeterReading& b) {
  return std::tie(a.at, a.wh) < std::tie(b.at, b.wh);
}

TimePoint TruncateToMillis(TimePoint t) { return std::chrono::floor<std::chrono::milliseconds>(t); }

// Whole Wh of a metered total: never negative, never above kMaxEnergyWh.
int64_t RoundEnergy(double total) {
  if (!(total > 0)) return 0;  // also false for NaN
  return total >= static_cast<double>(kMaxEnergyWh) ? kMaxEnergyWh : std::llround(total);
}

std::optional<double> BeginWh(const SessionState& session) {
  if (!session.meter_start_explicit || !session.meter_start) return std::nullopt;
  return session.meter_start->wh;
}

void Price(const Tariff& tariff, SessionState* session) {
  session->cost_hundredths = CostHundredths(session->energy_wh, tariff);
  session->currency = tariff.currency;
}

}  // namespace

std::optional<Tariff> MakeTariff(double price_per_kwh, std::string currency) {
  if (!std::isfinite(price_per_kwh) || price_per_kwh < 0 || price_per_kwh > kMaxPricePerKwh) {
    return std::nullopt;
  }
  return Tariff{std::llround(price_per_kwh * 1e6), std::move(currency)};
}

int64_t CostHundredths(int64_t energy_wh, const Tariff& tariff) {
  // Wh × (millionths per kWh) = 10^-9 currency units; one hundredth is 10^7 of those.
  constexpr __int128 kPerHundredth = 10'000'000;
  const __int128 nano_units = static_cast<__int128>(energy_wh) * tariff.price_micros_per_kwh;
  return static_cast<int64_t>((nano_units + kPerHundredth / 2) / kPerHundredth);
}

RegisterEnergy EnergyFromRegisters(std::optional<double> begin_wh,
                                   std::vector<MeterReading> readings) {
  std::sort(readings.begin(), readings.end(), Before);
  RegisterEnergy energy;
  double total = 0;
  std::optional<double> segment_first = begin_wh;
  std::optional<double> previous = begin_wh;
  for (const MeterReading& reading : readings) {
    if (previous && reading.wh < *previous) {
      // The register went down: close the segment with what it had metered, start afresh.
      total += *previous - *segment_first;
      segment_first = reading.wh;
      ++energy.resets;
    }
    if (!segment_first) segment_first = reading.wh;
    previous = reading.wh;
  }
  if (previous) total += *previous - *segment_first;
  // Each segment's last minus first, not the sum of every step, so that a monotonic series
  // gives exactly last minus first, free of floating-point drift.
  energy.wh = RoundEnergy(total);
  return energy;
}

std::string FormatScaled(int64_t value, int decimals) {
  uint64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  const uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : value;
  std::string text = value < 0 ? "-" : "";
  text += std::to_string(magnitude / scale);
  if (decimals == 0) return text;
  const std::string fraction = std::to_string(magnitude % scale);
  return text + "." + std::string(decimals - fraction.size(), '0') + fraction;
}

void NormalizeEvent(TimePoint now, ocpp::v1::TransactionEvent* event) {
  if (!event->has_received_at()) *event->mutable_received_at() = ToProto(now);
  if (!event->has_timestamp()) *event->mutable_timestamp() = event->received_at();
  *event->mutable_timestamp() = ToProto(TruncateToMillis(FromProto(event->timestamp())));
  *event->mutable_received_at() = ToProto(TruncateToMillis(FromProto(event->received_at())));
}

bool ClockSuspect(const ocpp::v1::TransactionEvent& event) {
  const TimePoint timestamp = FromProto(event.timestamp());
  return timestamp < kClockFloor ||
         (event.has_received_at() && timestamp > FromProto(event.received_at()) + kMaxClockLead);
}

TimePoint EffectiveTime(const ocpp::v1::TransactionEvent& event) {
  // NormalizeEvent always sets received_at; without it the station clock is all there is.
  const bool use_received = ClockSuspect(event) && event.has_received_at();
  return FromProto(use_received ? event.received_at() : event.timestamp());
}

std::optional<MeterReading> RegisterReading(const ocpp::v1::TransactionEvent& event) {
  if (!event.has_energy_register_wh()) return std::nullopt;
  return MeterReading{event.energy_register_wh(),
                      {event.order_key(), FromProto(event.timestamp())}};
}

void MergeEvent(const ocpp::v1::TransactionEvent& event, SessionState* session) {
  // Positions keep the raw station timestamp: it only breaks order_key ties between events of
  // one station, whose clock is wrong by the same offset for all of them.
  const Position at{event.order_key(), FromProto(event.timestamp())};
  const TimePoint time = EffectiveTime(event);
  ++session->event_count;
  if (ClockSuspect(event)) session->clock_suspect = true;

  if (event.event_type() == TRANSACTION_EVENT_TYPE_STARTED) {
    // The Started timestamp replaces whatever was inferred from events that came before it.
    session->start_time = session->started_seen ? std::min(*session->start_time, time) : time;
    session->started_seen = true;
  } else if (!session->started_seen) {
    session->start_time = session->start_time ? std::min(*session->start_time, time) : time;
  }

  // The token of the earliest event that carries one: the start authorization, not the stop.
  // (A NoAuthorization token has an empty value: its type says it was there.)
  if ((!event.id_token().empty() || !event.id_token_type().empty()) &&
      (!session->user_id_at ||
       std::tie(at, event.id_token()) < std::tie(*session->user_id_at, session->user_id))) {
    session->user_id = event.id_token();
    session->user_id_at = at;
    const ocpp::v1::IdTokenDecision& decision = event.id_token_decision();
    session->id_token_type = event.id_token_type();
    session->account_id = decision.account_id();
    session->authorization_status = decision.status();
    session->authorization_flagged = decision.flagged();
    session->authorization_reason = decision.reason();
  }

  // An explicit Transaction.Begin reading beats any register inferred as the first one.
  if (event.has_meter_start_wh()) {
    const MeterReading begin{event.meter_start_wh(), at};
    if (!session->meter_start_explicit || Before(begin, *session->meter_start)) {
      session->meter_start = begin;
      session->meter_start_explicit = true;
    }
  }
  if (const std::optional<MeterReading> reading = RegisterReading(event)) {
    if (!session->meter_start_explicit &&
        (!session->meter_start || Before(*reading, *session->meter_start))) {
      session->meter_start = reading;
    }
    if (!session->meter_stop || Before(*session->meter_stop, *reading)) {
      session->meter_stop = reading;
    }
  }

  if (event.event_type() == TRANSACTION_EVENT_TYPE_ENDED &&
      (!session->ended || *session->end_time <= time)) {
    session->ended = true;
    session->end_time = time;
    // OCPP leaves stoppedReason out when it is Local.
    session->stop_reason = event.stopped_reason().empty() ? "Local" : event.stopped_reason();
  }
}

void SettleEnergy(std::vector<MeterReading> readings, const Tariff& tariff, SessionState* session) {
  const RegisterEnergy energy = EnergyFromRegisters(BeginWh(*session), std::move(readings));
  session->energy_wh = energy.wh;
  session->meter_resets = energy.resets;
  Price(tariff, session);
}

bool MergeAndSettle(const ocpp::v1::TransactionEvent& event, const Tariff& tariff,
                    SessionState* session) {
  const std::optional<double> begin_before = BeginWh(*session);
  const std::optional<MeterReading> last_before = session->meter_stop;
  const bool had_resets = session->meter_resets != 0;
  MergeEvent(event, session);
  const std::optional<double> begin = BeginWh(*session);
  const std::optional<MeterReading> reading = RegisterReading(event);
  if (!last_before) {
    // No reading before this event: this one (if any) is all there is.
    std::vector<MeterReading> readings;
    if (reading) readings.push_back(*reading);
    SettleEnergy(std::move(readings), tariff, session);
    return true;
  }
  // Later readings keep the begin value; one that changes it reprices every segment.
  if (begin != begin_before) return false;
  if (reading) {
    // Appending to the end of a single rising segment moves its last value only.
    if (had_resets || !Before(*last_before, *reading) || reading->wh < last_before->wh) {
      return false;
    }
    // Without resets the segment starts at the begin value or, without one, the first reading.
    const double first = begin ? *begin : session->meter_start->wh;
    session->energy_wh = RoundEnergy(reading->wh - first);
  }
  Price(tariff, session);
  return true;
}

}  // namespace csms::billing
