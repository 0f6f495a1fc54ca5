#include "csms/billing/tariff.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace csms::billing {
namespace {

// Exact money: one unit is 1/(6·10^10) of the currency unit, so that Wh × (micros per kWh)
// (10^-9 each), ms × (micros per minute) (10^-6 / 60'000 each) and micros all are whole units.
using Exact = __int128;
constexpr Exact kUnitsPerMicro = 60'000;
constexpr Exact kUnitsPerWhMicro = 60;  // one Wh at one micro per kWh
constexpr Exact kPartsPerMillion = 1'000'000;

// Far above any real tariff; keeps the integer math in range.
constexpr double kMaxPrice = 1'000'000;       // per kWh or per minute
constexpr double kMaxAmount = 1'000'000'000;  // session fee, minimum and maximum
constexpr int kMaxGraceMinutes = 7 * 24 * 60;
constexpr size_t kMaxPeriods = 64;
constexpr size_t kMaxDisplayText = 512;  // OCPP MessageContentType.content

// floor(num / den) for den > 0, any sign of num.
Exact FloorDiv(Exact num, Exact den) {
  Exact q = num / den;
  if (num % den != 0 && num < 0) --q;
  return q;
}

// num / den rounded half up (towards +infinity on a tie), den > 0.
int64_t RoundHalfUp(Exact num, Exact den) {
  return static_cast<int64_t>(FloorDiv(2 * num + den, 2 * den));
}

int64_t Micros(Exact units) { return RoundHalfUp(units, kUnitsPerMicro); }

int64_t Ms(TimePoint from, TimePoint to) {
  return std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
}

absl::TimeZone ZoneOf(const Tariff& tariff) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(tariff.time_zone, &zone)) zone = absl::UTCTimeZone();
  return zone;
}

absl::Time ToAbsl(TimePoint t) { return absl::FromUnixMicros(t.time_since_epoch().count()); }

TimePoint FromAbsl(absl::Time t) {
  return TimePoint(std::chrono::microseconds(absl::ToUnixMicros(t)));
}

bool OnWeekday(uint8_t mask, absl::Weekday day) {
  // absl::Weekday counts from Monday = 0.
  return (mask >> static_cast<int>(day)) & 1;
}

int PeriodAtCivil(const Tariff& tariff, absl::CivilMinute local) {
  const absl::CivilDay day(local);
  const int minute = local.hour() * 60 + local.minute();
  const absl::Weekday today = absl::GetWeekday(day);
  const absl::Weekday yesterday = absl::GetWeekday(day - 1);
  for (size_t i = 0; i < tariff.periods.size(); ++i) {
    const TouPeriod& p = tariff.periods[i];
    const bool covers =
        p.start_minute < p.end_minute
            ? OnWeekday(p.weekdays, today) && minute >= p.start_minute && minute < p.end_minute
            : (OnWeekday(p.weekdays, today) && minute >= p.start_minute) ||
                  (OnWeekday(p.weekdays, yesterday) && minute < p.end_minute);
    if (covers) return static_cast<int>(i);
  }
  return -1;
}

int64_t EnergyPrice(const Tariff& tariff, int period) {
  if (period < 0) return tariff.price_micros_per_kwh;
  return tariff.periods[period].energy_micros_per_kwh.value_or(tariff.price_micros_per_kwh);
}

int64_t ChargingPrice(const Tariff& tariff, int period) {
  if (period < 0) return tariff.charging_micros_per_minute;
  return tariff.periods[period].charging_micros_per_minute.value_or(
      tariff.charging_micros_per_minute);
}

// The session's whole Wh by period (index period + 1; 0 is "no period"), in proportion to where
// the spans put it; largest remainders round it so that the parts sum to the billed energy.
std::vector<int64_t> ShareEnergy(const Tariff& tariff, const SessionUsage& usage) {
  std::vector<double> raw(tariff.periods.size() + 1, 0);
  for (const EnergySpan& span : usage.spans) {
    if (!(span.wh > 0)) continue;
    if (span.to <= span.from) {
      raw[PeriodAt(tariff, span.from) + 1] += span.wh;
      continue;
    }
    const double length = static_cast<double>((span.to - span.from).count());
    for (const PeriodPiece& piece : SplitByPeriods(tariff, span.from, span.to)) {
      raw[piece.period + 1] +=
          span.wh * static_cast<double>((piece.to - piece.from).count()) / length;
    }
  }
  double total = std::accumulate(raw.begin(), raw.end(), 0.0);
  if (!(total > 0)) {
    std::fill(raw.begin(), raw.end(), 0.0);
    raw[(usage.start ? PeriodAt(tariff, *usage.start) : -1) + 1] = 1;
    total = 1;
  }
  std::vector<int64_t> whole(raw.size());
  std::vector<std::pair<double, size_t>> remainders;
  int64_t assigned = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    const double exact = raw[i] * static_cast<double>(usage.energy_wh) / total;
    whole[i] = static_cast<int64_t>(std::floor(exact));
    assigned += whole[i];
    remainders.emplace_back(exact - static_cast<double>(whole[i]), i);
  }
  // Larger remainder first, the earlier period on a tie.
  std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  for (size_t k = 0; assigned < usage.energy_wh && k < remainders.size(); ++k, ++assigned) {
    ++whole[remainders[k].second];
  }
  return whole;
}

struct Interval {
  TimePoint from, to;
  std::string_view state;
};

// Each state from its instant to the next one's (the last to the session's end); without states
// the whole session is one Charging interval.
std::vector<Interval> StateIntervals(const SessionUsage& usage) {
  std::vector<Interval> intervals;
  if (usage.states.empty()) {
    if (usage.start && usage.end && *usage.end > *usage.start) {
      intervals.push_back({*usage.start, *usage.end, "Charging"});
    }
    return intervals;
  }
  for (size_t i = 0; i < usage.states.size(); ++i) {
    const TimePoint from = usage.states[i].at;
    TimePoint to = i + 1 < usage.states.size() ? usage.states[i + 1].at : usage.end.value_or(from);
    intervals.push_back({from, std::max(from, to), usage.states[i].state});
  }
  return intervals;
}

bool PluggedIn(std::string_view state) {
  return state == "EVConnected" || state == "SuspendedEV" || state == "SuspendedEVSE";
}

std::optional<int64_t> PriceMicros(double value, double max) {
  if (!std::isfinite(value) || value < 0 || value > max) return std::nullopt;
  return std::llround(value * 1e6);
}

// "HH:MM" from 00:00 to 24:00 as minutes after midnight.
std::optional<int> ParseLocalTime(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (int i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const int hour = (text[0] - '0') * 10 + (text[1] - '0');
  const int minute = (text[3] - '0') * 10 + (text[4] - '0');
  if (minute > 59 || hour > 24 || (hour == 24 && minute != 0)) return std::nullopt;
  return hour * 60 + minute;
}

bool ValidTariffId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

bool Tariff::EnergyOnly() const {
  return periods.empty() && charging_micros_per_minute == 0 && idle_micros_per_minute == 0;
}

int CurrencyDigits(const std::string& currency) {
  static const std::set<std::string> kNone = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                              "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                              "VND", "VUV", "XAF", "XOF", "XPF"};
  static const std::set<std::string> kThree = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  if (kNone.count(currency) > 0) return 0;
  if (kThree.count(currency) > 0) return 3;
  return 2;
}

std::optional<Tariff> MakeTariff(double price_per_kwh, std::string currency) {
  const std::optional<int64_t> price = PriceMicros(price_per_kwh, kMaxPrice);
  if (!price) return std::nullopt;
  Tariff tariff;
  tariff.price_micros_per_kwh = *price;
  tariff.minor_unit_digits = std::min(CurrencyDigits(currency), 2);
  tariff.currency = std::move(currency);
  return tariff;
}

std::variant<Tariff, std::string> TariffFromProto(const v1::Tariff& proto,
                                                  const std::string& currency) {
  if (!ValidTariffId(proto.tariff_id())) {
    return std::string("tariff_id must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
  }
  if (proto.currency() != currency) {
    return "currency must be the network's currency " + currency + " (billing --currency), not '" +
           proto.currency() + "'";
  }
  std::optional<Tariff> tariff = MakeTariff(0, currency);
  absl::TimeZone zone;
  if (proto.time_zone().empty() || !absl::LoadTimeZone(proto.time_zone(), &zone)) {
    return "time_zone '" + proto.time_zone() + "' is not a known IANA time zone (e.g. Asia/Seoul)";
  }
  tariff->time_zone = proto.time_zone();
  tariff->tariff_id = proto.tariff_id();
  tariff->version = proto.version();
  struct PriceField {
    const char* name;
    double value;
    double max;
    int64_t* out;
  };
  for (const PriceField& field : {
           PriceField{"energy_price_per_kwh", proto.energy_price_per_kwh(), kMaxPrice,
                      &tariff->price_micros_per_kwh},
           PriceField{"charging_price_per_minute", proto.charging_price_per_minute(), kMaxPrice,
                      &tariff->charging_micros_per_minute},
           PriceField{"idle_price_per_minute", proto.idle_price_per_minute(), kMaxPrice,
                      &tariff->idle_micros_per_minute},
           PriceField{"session_fee", proto.session_fee(), kMaxAmount, &tariff->session_fee_micros},
       }) {
    const std::optional<int64_t> micros = PriceMicros(field.value, field.max);
    if (!micros)
      return std::string(field.name) + " must be a number from 0 to " +
             std::to_string(static_cast<int64_t>(field.max));
    *field.out = *micros;
  }
  if (proto.idle_grace_minutes() < 0 || proto.idle_grace_minutes() > kMaxGraceMinutes) {
    return "idle_grace_minutes must be from 0 to " + std::to_string(kMaxGraceMinutes);
  }
  tariff->idle_grace_minutes = proto.idle_grace_minutes();
  if (!std::isfinite(proto.tax_rate_percent()) || proto.tax_rate_percent() < 0 ||
      proto.tax_rate_percent() > 100) {
    return std::string("tax_rate_percent must be from 0 to 100");
  }
  tariff->tax_ppm = std::llround(proto.tax_rate_percent() * 1e4);
  tariff->prices_exclude_tax = proto.prices_exclude_tax();
  if (proto.has_min_price()) {
    tariff->min_micros = PriceMicros(proto.min_price(), kMaxAmount);
    if (!tariff->min_micros) return std::string("min_price must be a number from 0 to 1000000000");
  }
  if (proto.has_max_price()) {
    tariff->max_micros = PriceMicros(proto.max_price(), kMaxAmount);
    if (!tariff->max_micros) return std::string("max_price must be a number from 0 to 1000000000");
  }
  if (tariff->min_micros && tariff->max_micros && *tariff->min_micros > *tariff->max_micros) {
    return std::string("min_price must not be above max_price");
  }
  if (static_cast<size_t>(proto.periods_size()) > kMaxPeriods) {
    return "periods: at most " + std::to_string(kMaxPeriods);
  }
  for (int i = 0; i < proto.periods_size(); ++i) {
    const v1::TariffPeriod& in = proto.periods(i);
    const std::string where = "periods[" + std::to_string(i) + "]";
    TouPeriod period;
    if (in.weekdays_size() > 0) {
      period.weekdays = 0;
      for (int day : in.weekdays()) {
        if (day < 1 || day > 7)
          return where + ".weekdays: " + std::to_string(day) +
                 " is not a weekday from 1 (Monday) to 7 (Sunday)";
        period.weekdays |= static_cast<uint8_t>(1 << (day - 1));
      }
    }
    const std::optional<int> start = ParseLocalTime(in.start_time());
    const std::optional<int> end = ParseLocalTime(in.end_time());
    if (!start || *start == 1440) {
      return where + ".start_time must be HH:MM from 00:00 to 23:59, not '" + in.start_time() + "'";
    }
    if (!end) {
      return where + ".end_time must be HH:MM from 00:00 to 24:00, not '" + in.end_time() + "'";
    }
    period.start_minute = *start;
    period.end_minute = *end == 0 ? 1440 : *end;
    if (in.has_energy_price_per_kwh()) {
      period.energy_micros_per_kwh = PriceMicros(in.energy_price_per_kwh(), kMaxPrice);
      if (!period.energy_micros_per_kwh) {
        return where + ".energy_price_per_kwh must be a number from 0 to 1000000";
      }
    }
    if (in.has_charging_price_per_minute()) {
      period.charging_micros_per_minute = PriceMicros(in.charging_price_per_minute(), kMaxPrice);
      if (!period.charging_micros_per_minute) {
        return where + ".charging_price_per_minute must be a number from 0 to 1000000";
      }
    }
    tariff->periods.push_back(period);
  }
  if (proto.display_text().size() > kMaxDisplayText) {
    return "display_text: at most " + std::to_string(kMaxDisplayText) + " bytes";
  }
  tariff->display_text = proto.display_text();
  return std::move(*tariff);
}

int PeriodAt(const Tariff& tariff, TimePoint t) {
  if (tariff.periods.empty()) return -1;
  return PeriodAtCivil(tariff, absl::ToCivilMinute(ToAbsl(t), ZoneOf(tariff)));
}

std::vector<PeriodPiece> SplitByPeriods(const Tariff& tariff, TimePoint from, TimePoint to) {
  if (to <= from) return {};
  if (tariff.periods.empty()) return {{from, to, -1}};
  const absl::TimeZone zone = ZoneOf(tariff);
  // Prices can change only where a period starts or ends, or at midnight (a new weekday).
  std::vector<TimePoint> cuts;
  const absl::CivilDay first = absl::CivilDay(absl::ToCivilDay(ToAbsl(from), zone)) - 1;
  const absl::CivilDay last = absl::CivilDay(absl::ToCivilDay(ToAbsl(to), zone)) + 1;
  auto add = [&](absl::CivilDay day, int minute) {
    const TimePoint at = FromAbsl(absl::FromCivil(absl::CivilMinute(day) + minute, zone));
    if (at > from && at < to) cuts.push_back(at);
  };
  for (absl::CivilDay day = first; day <= last; ++day) {
    add(day, 0);
    for (const TouPeriod& p : tariff.periods) {
      add(day, p.start_minute);
      add(day, p.end_minute);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<PeriodPiece> pieces;
  TimePoint at = from;
  cuts.push_back(to);
  for (const TimePoint cut : cuts) {
    // The middle of a piece decides its period: no cut lies inside, so any instant would do.
    const int period = PeriodAt(tariff, at + (cut - at) / 2);
    if (!pieces.empty() && pieces.back().period == period) {
      pieces.back().to = cut;
    } else {
      pieces.push_back({at, cut, period});
    }
    at = cut;
  }
  return pieces;
}

CostBreakdown PriceSession(const Tariff& tariff, const SessionUsage& usage) {
  CostBreakdown cost;
  cost.prices_exclude_tax = tariff.prices_exclude_tax;
  const int64_t energy_wh = std::max<int64_t>(usage.energy_wh, 0);

  Exact energy = 0;
  if (tariff.periods.empty()) {
    energy = Exact{energy_wh} * tariff.price_micros_per_kwh * kUnitsPerWhMicro;
  } else {
    const std::vector<int64_t> shares = ShareEnergy(tariff, usage);
    for (size_t i = 0; i < shares.size(); ++i) {
      energy += Exact{shares[i]} * EnergyPrice(tariff, static_cast<int>(i) - 1) * kUnitsPerWhMicro;
    }
  }

  Exact charging = 0;
  Exact idle = 0;
  // Time is looked at only by tariffs that price it (the ledger loads states only for them).
  const std::vector<Interval> intervals =
      tariff.EnergyOnly() ? std::vector<Interval>{} : StateIntervals(usage);
  std::optional<size_t> last_charging;
  for (size_t i = 0; i < intervals.size(); ++i) {
    if (intervals[i].state != "Charging") continue;
    last_charging = i;
    for (const PeriodPiece& piece : SplitByPeriods(tariff, intervals[i].from, intervals[i].to)) {
      const int64_t ms = Ms(piece.from, piece.to);
      cost.charging_ms += ms;
      charging += Exact{ms} * ChargingPrice(tariff, piece.period);
    }
  }
  if (last_charging) {
    int64_t idle_ms = 0;
    for (size_t i = *last_charging + 1; i < intervals.size(); ++i) {
      if (PluggedIn(intervals[i].state)) idle_ms += Ms(intervals[i].from, intervals[i].to);
    }
    cost.idle_ms = std::max<int64_t>(0, idle_ms - int64_t{tariff.idle_grace_minutes} * 60'000);
    idle = Exact{cost.idle_ms} * tariff.idle_micros_per_minute;
  }
  const Exact fee = energy_wh > 0 ? Exact{tariff.session_fee_micros} * kUnitsPerMicro : 0;

  const Exact sum = energy + charging + idle + fee;
  Exact bounded = sum;
  if (tariff.min_micros && energy_wh > 0) {
    bounded = std::max(bounded, Exact{*tariff.min_micros} * kUnitsPerMicro);
  }
  if (tariff.max_micros) bounded = std::min(bounded, Exact{*tariff.max_micros} * kUnitsPerMicro);

  // The total as a fraction total_num / total_den of units, tax in or on top.
  const Exact ppm = tariff.tax_ppm;
  Exact total_num = bounded;
  Exact total_den = 1;
  if (tariff.prices_exclude_tax) {
    cost.tax_micros = RoundHalfUp(bounded * ppm, kPartsPerMillion * kUnitsPerMicro);
    total_num = bounded * (kPartsPerMillion + ppm);
    total_den = kPartsPerMillion;
  } else {
    cost.tax_micros = RoundHalfUp(bounded * ppm, (kPartsPerMillion + ppm) * kUnitsPerMicro);
  }
  cost.energy_micros = Micros(energy);
  cost.charging_time_micros = Micros(charging);
  cost.idle_micros = Micros(idle);
  cost.session_fee_micros = Micros(fee);
  cost.adjustment_micros = Micros(bounded - sum);

  Exact units_per_minor = kUnitsPerMicro * 1'000'000;
  for (int i = 0; i < tariff.minor_unit_digits; ++i) units_per_minor /= 10;
  cost.total_minor = RoundHalfUp(total_num, total_den * units_per_minor);
  int64_t hundredths_per_minor = 1;
  for (int i = tariff.minor_unit_digits; i < 2; ++i) hundredths_per_minor *= 10;
  cost.cost_hundredths = cost.total_minor * hundredths_per_minor;
  return cost;
}

int64_t CostHundredths(int64_t energy_wh, const Tariff& tariff) {
  Tariff energy_only = tariff;
  energy_only.periods.clear();
  energy_only.charging_micros_per_minute = 0;
  energy_only.idle_micros_per_minute = 0;
  energy_only.session_fee_micros = 0;
  energy_only.min_micros.reset();
  energy_only.max_micros.reset();
  energy_only.tax_ppm = 0;
  SessionUsage usage;
  usage.energy_wh = energy_wh;
  return PriceSession(energy_only, usage).cost_hundredths;
}

}  // namespace csms::billing
