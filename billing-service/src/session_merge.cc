#include "csms/billing/session_merge.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

namespace csms::billing {
namespace {

using ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED;
using ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED;

// Far above any real session (100 GWh); keeps the integer cost math in range.
constexpr int64_t kMaxEnergyWh = 100'000'000'000;

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

std::optional<MeterReading> Begin(const SessionState& session) {
  if (!session.meter_start_explicit || !session.meter_start) return std::nullopt;
  return session.meter_start;
}

std::string DescribeRise(const MeterReading& from, const MeterReading& to,
                         const MeterLimits& limits) {
  const double seconds = std::chrono::duration<double>(to.at.time - from.at.time).count();
  std::string text = "the energy register rose from " + std::to_string(std::llround(from.wh)) +
                     " to " + std::to_string(std::llround(to.wh)) + " Wh in " +
                     std::to_string(std::llround(std::max(seconds, 0.0))) + " s";
  if (seconds > 0) {
    text += " (" + std::to_string(std::llround((to.wh - from.wh) * 3.6 / seconds)) + " kW)";
  }
  return text + ", more than " + std::to_string(std::llround(limits.max_power_w / 1000)) +
         " kW can deliver; not billed, billing goes on from " +
         std::to_string(std::llround(to.wh)) + " Wh";
}

void SetReview(int64_t implausible, const std::string& first, SessionState* session) {
  session->implausible_readings = implausible;
  session->needs_review = implausible > 0;
  session->review_reason.clear();
  if (implausible == 1) session->review_reason = first;
  if (implausible > 1) {
    session->review_reason =
        std::to_string(implausible) + " implausible register readings; the first: " + first;
  }
}

// A meter that reports only Energy.Active.Import.Interval: the session's energy is their sum.
void UseIntervalsWithoutRegisters(SessionState* session) {
  if (!session->meter_stop) session->energy_wh = RoundEnergy(session->interval_wh);
}

void Price(const Tariff& tariff, const SessionUsage& usage, SessionState* session) {
  session->cost = PriceSession(tariff, usage);
  session->cost_hundredths = session->cost.cost_hundredths;
  session->currency = tariff.currency;
}

// The usage of a session priced by its energy alone.
SessionUsage EnergyUsage(const SessionState& session) {
  SessionUsage usage;
  usage.energy_wh = session.energy_wh;
  usage.start = session.start_time;
  usage.end = session.end_time;
  return usage;
}

}  // namespace

bool PlausibleRise(const MeterReading& from, const MeterReading& to, const MeterLimits& limits) {
  if (!(limits.max_power_w > 0) || to.wh <= from.wh || from.at.time == TimePoint{}) return true;
  const double seconds =
      std::max(std::chrono::duration<double>(to.at.time - from.at.time).count(), 0.0) +
      static_cast<double>(kReadingTimeSlack.count());
  return to.wh - from.wh <= limits.max_power_w * seconds / 3600;
}

RegisterEnergy EnergyFromRegisters(std::optional<MeterReading> begin,
                                   std::vector<MeterReading> readings, const MeterLimits& limits) {
  std::sort(readings.begin(), readings.end(), Before);
  RegisterEnergy energy;
  double total = 0;
  std::optional<double> segment_first;
  std::optional<MeterReading> previous = begin;
  if (begin) segment_first = begin->wh;
  for (const MeterReading& reading : readings) {
    const bool rise = previous && reading.wh > previous->wh;
    if (previous && reading.wh < previous->wh) {
      // The register went down: close the segment with what it had metered, start afresh.
      total += previous->wh - *segment_first;
      segment_first = reading.wh;
      ++energy.resets;
    } else if (previous && !PlausibleRise(*previous, reading, limits)) {
      // Not energy: close the segment before the jump, go on from this reading.
      total += previous->wh - *segment_first;
      segment_first = reading.wh;
      if (energy.implausible++ == 0) {
        energy.first_implausible = DescribeRise(*previous, reading, limits);
      }
    } else if (rise) {
      // An untimed begin reading (the epoch) puts the rise at this reading's instant.
      const TimePoint from = previous->at.time == TimePoint{} ? reading.at.time : previous->at.time;
      energy.spans.push_back({from, std::max(from, reading.at.time), reading.wh - previous->wh});
    }
    if (!segment_first) segment_first = reading.wh;
    previous = reading;
  }
  if (previous) total += previous->wh - *segment_first;
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
    const Position begin_at{event.order_key(), event.has_meter_start_time()
                                                   ? FromProto(event.meter_start_time())
                                                   : at.time};
    const MeterReading begin{event.meter_start_wh(), begin_at};
    if (!session->meter_start_explicit || Before(begin, *session->meter_start)) {
      session->meter_start = begin;
      session->meter_start_explicit = true;
    }
  }
  if (event.has_energy_interval_wh() && event.energy_interval_wh() > 0) {
    session->interval_wh += event.energy_interval_wh();
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

void SettleSession(TransactionRecord record, const Tariff& tariff, SessionState* session,
                   const MeterLimits& limits) {
  const bool registers = !record.readings.empty();
  RegisterEnergy energy = EnergyFromRegisters(Begin(*session), std::move(record.readings), limits);
  session->energy_wh = energy.wh;
  session->meter_resets = energy.resets;
  SetReview(energy.implausible, energy.first_implausible, session);
  UseIntervalsWithoutRegisters(session);
  if (tariff.EnergyOnly()) return Price(tariff, EnergyUsage(*session), session);

  SessionUsage usage = EnergyUsage(*session);
  usage.spans = registers ? std::move(energy.spans) : std::move(record.intervals);
  std::stable_sort(record.states.begin(), record.states.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [position, state] : record.states) usage.states.push_back(std::move(state));
  // While the session runs it is priced up to its latest event.
  if (!usage.end) usage.end = record.latest;
  Price(tariff, usage, session);
}

void SettleEnergy(std::vector<MeterReading> readings, const Tariff& tariff, SessionState* session,
                  const MeterLimits& limits) {
  TransactionRecord record;
  record.readings = std::move(readings);
  SettleSession(std::move(record), tariff, session, limits);
}

bool MergeAndSettle(const ocpp::v1::TransactionEvent& event, const Tariff& tariff,
                    SessionState* session, const MeterLimits& limits) {
  if (!tariff.EnergyOnly()) {
    // Time prices need every charging state: the caller loads the transaction's events.
    MergeEvent(event, session);
    return false;
  }
  const std::optional<MeterReading> begin_before = Begin(*session);
  const std::optional<MeterReading> last_before = session->meter_stop;
  const bool one_segment = session->meter_resets == 0 && session->implausible_readings == 0;
  MergeEvent(event, session);
  const std::optional<MeterReading> begin = Begin(*session);
  const std::optional<MeterReading> reading = RegisterReading(event);
  if (!last_before) {
    // No reading before this event: this one (if any) is all there is.
    std::vector<MeterReading> readings;
    if (reading) readings.push_back(*reading);
    SettleEnergy(std::move(readings), tariff, session, limits);
    return true;
  }
  // Later readings keep the begin reading; one that changes it (value or time) reprices and
  // rejudges every segment.
  if (begin != begin_before) return false;
  if (reading) {
    // Appending to the end of a single rising segment moves its last value only.
    if (!one_segment || !Before(*last_before, *reading) || reading->wh < last_before->wh ||
        !PlausibleRise(*last_before, *reading, limits)) {
      return false;
    }
    // Without resets the segment starts at the begin value or, without one, the first reading.
    const double first = begin ? begin->wh : session->meter_start->wh;
    session->energy_wh = RoundEnergy(reading->wh - first);
  }
  UseIntervalsWithoutRegisters(session);
  Price(tariff, EnergyUsage(*session), session);
  return true;
}

}  // namespace csms::billing
