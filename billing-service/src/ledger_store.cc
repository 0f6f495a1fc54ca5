#include "csms/billing/ledger_store.h"

#include <charconv>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "csms/common/pg_sql.h"

namespace csms::billing {
namespace {

using pg::ExecPrepared;

using ocpp::v1::TransactionEvent;

// Advisory locks on (class, key) pairs live apart from single-key locks such as the one the
// migrations take; this class names "daily stats of one charger and date".
constexpr int kDailyStatsLockClass = 0x0b111;
// Runs of one batch after a deadlock or serialization failure before its callers are told.
constexpr int kBatchAttempts = 3;

// Columns are read from the table aliased `u`, so the same list serves joins and RETURNING.
std::string MicrosColumn(const std::string& column) {
  return "(extract(epoch FROM u." + column + ") * 1000000)::bigint AS " + column + "_us";
}

// Every session read goes through this column list and ReadSession.
const std::string& SessionColumns() {
  static const std::string columns =
      "u.transaction_id, u.charger_id, coalesce(u.station_id, '') AS station_id,"
      " coalesce(u.user_id, '') AS user_id, u.user_id_order, " +
      MicrosColumn("user_id_time") + ", " + MicrosColumn("start_time") + ", " +
      MicrosColumn("end_time") + ", coalesce(u.stop_reason, '') AS stop_reason," +
      " u.meter_start_wh, u.meter_start_order, " + MicrosColumn("meter_start_time") +
      ", u.meter_start_explicit, u.meter_stop_wh, u.meter_stop_order, " +
      MicrosColumn("meter_stop_time") +
      ", u.started_seen, u.ended, u.clock_suspect, u.event_count, u.meter_resets,"
      " u.implausible_readings, u.needs_review, coalesce(u.review_reason, '') AS review_reason,"
      " u.interval_wh,"
      " coalesce(u.id_token_type, '') AS id_token_type,"
      " coalesce(u.account_id, '') AS account_id,"
      " coalesce(u.authorization_status, '') AS authorization_status,"
      " u.authorization_flagged, coalesce(u.authorization_reason, '') AS authorization_reason,"
      " (u.energy_consumed * 1000)::bigint AS energy_wh,"
      " (u.cost * 100)::bigint AS cost_hundredths, u.currency,"
      " coalesce(u.tariff_id, '') AS tariff_id, coalesce(u.tariff_version, 0) AS tariff_version,"
      " u.cost_components::text AS cost_components, u.max_power_w, " +
      MicrosColumn("updated_at") + ", to_char(u.stats_date, 'YYYY-MM-DD') AS stats_date";
  return columns;
}

std::optional<TimePoint> ReadTime(const pqxx::field& micros) {
  if (micros.is_null()) return std::nullopt;
  return TimePoint(std::chrono::microseconds(micros.as<int64_t>()));
}

std::optional<Position> ReadPosition(const pqxx::field& order, const pqxx::field& micros) {
  if (order.is_null() || micros.is_null()) return std::nullopt;
  return Position{order.as<int64_t>(), *ReadTime(micros)};
}

std::optional<MeterReading> ReadReading(const pqxx::row& row, const std::string& prefix) {
  const pqxx::field wh = row[prefix + "_wh"];
  auto at = ReadPosition(row[prefix + "_order"], row[prefix + "_time_us"]);
  if (wh.is_null() || !at) return std::nullopt;
  return MeterReading{wh.as<double>(), *at};
}

// The breakdown as stored: charger_usage_log.cost_components, a bigint[] in this order (an
// integer array is far cheaper to write and read on every event than JSON).
std::string ComponentsArray(const CostBreakdown& c) {
  std::string text = "{";
  for (const int64_t value :
       {c.energy_micros, c.charging_time_micros, c.idle_micros, c.session_fee_micros,
        c.adjustment_micros, c.tax_micros, int64_t{c.prices_exclude_tax}, c.charging_ms, c.idle_ms,
        c.total_minor}) {
    if (text.size() > 1) text += ',';
    text += std::to_string(value);
  }
  return text + "}";
}

// A session priced before breakdowns were stored has its energy as the whole cost.
CostBreakdown ReadBreakdown(const pqxx::row& row, int64_t cost_hundredths,
                            const std::string& currency) {
  CostBreakdown c;
  c.cost_hundredths = cost_hundredths;
  const pqxx::field field = row["cost_components"];
  std::vector<int64_t> values;
  if (!field.is_null()) {
    const std::string text = field.as<std::string>();  // "{1,2,...}"
    const char* at = text.data() + 1;
    const char* end = text.data() + text.size();
    while (at < end) {
      int64_t value = 0;
      auto [next, ec] = std::from_chars(at, end, value);
      if (ec != std::errc()) break;
      values.push_back(value);
      at = next + 1;  // past ',' or '}'
    }
  }
  if (values.size() < 10) {
    int64_t hundredths_per_minor = 1;
    for (int i = std::min(CurrencyDigits(currency), 2); i < 2; ++i) hundredths_per_minor *= 10;
    c.total_minor = cost_hundredths / hundredths_per_minor;
    c.energy_micros = cost_hundredths * 10'000;
    return c;
  }
  c.energy_micros = values[0];
  c.charging_time_micros = values[1];
  c.idle_micros = values[2];
  c.session_fee_micros = values[3];
  c.adjustment_micros = values[4];
  c.tax_micros = values[5];
  c.prices_exclude_tax = values[6] != 0;
  c.charging_ms = values[7];
  c.idle_ms = values[8];
  c.total_minor = values[9];
  return c;
}

SessionState ReadSession(const pqxx::row& row) {
  SessionState s;
  s.transaction_id = row["transaction_id"].as<std::string>();
  s.charger_id = row["charger_id"].as<std::string>();
  s.station_id = row["station_id"].as<std::string>();
  s.user_id = row["user_id"].as<std::string>();
  s.user_id_at = ReadPosition(row["user_id_order"], row["user_id_time_us"]);
  s.id_token_type = row["id_token_type"].as<std::string>();
  s.account_id = row["account_id"].as<std::string>();
  s.authorization_status = row["authorization_status"].as<std::string>();
  s.authorization_flagged = row["authorization_flagged"].as<bool>();
  s.authorization_reason = row["authorization_reason"].as<std::string>();
  s.start_time = ReadTime(row["start_time_us"]);
  s.end_time = ReadTime(row["end_time_us"]);
  s.stop_reason = row["stop_reason"].as<std::string>();
  s.meter_start = ReadReading(row, "meter_start");
  s.meter_start_explicit = row["meter_start_explicit"].as<bool>();
  s.meter_stop = ReadReading(row, "meter_stop");
  s.started_seen = row["started_seen"].as<bool>();
  s.ended = row["ended"].as<bool>();
  s.clock_suspect = row["clock_suspect"].as<bool>();
  s.event_count = row["event_count"].as<int64_t>();
  s.energy_wh = row["energy_wh"].as<int64_t>();
  s.meter_resets = row["meter_resets"].as<int64_t>();
  s.implausible_readings = row["implausible_readings"].as<int64_t>();
  s.needs_review = row["needs_review"].as<bool>();
  s.review_reason = row["review_reason"].as<std::string>();
  s.interval_wh = row["interval_wh"].as<double>();
  s.cost_hundredths = row["cost_hundredths"].as<int64_t>();
  s.currency = row["currency"].as<std::string>();
  s.tariff_id = row["tariff_id"].as<std::string>();
  s.tariff_version = row["tariff_version"].as<int>();
  s.cost = ReadBreakdown(row, s.cost_hundredths, s.currency);
  if (!row["max_power_w"].is_null()) s.max_power_w = row["max_power_w"].as<double>();
  s.updated_at = ReadTime(row["updated_at_us"]);
  return s;
}

std::string StatsDate(const pqxx::row& row) {
  const pqxx::field date = row["stats_date"];
  return date.is_null() ? std::string() : date.as<std::string>();
}

// Parameter text for a nullable value.
using Nullable = std::optional<std::string>;
const char* NullIfEmpty(const std::string& text) { return text.empty() ? nullptr : text.c_str(); }

std::string DoubleText(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest exact round trip
  return std::string(buf, end);
}

// Text of a proto3 `optional` number, or NULL when the field is absent.
template <typename Number>
Nullable TextIf(bool present, Number value) {
  if (!present) return std::nullopt;
  if constexpr (std::is_floating_point_v<Number>) return DoubleText(value);
  return std::to_string(value);
}

Nullable TimeText(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return FormatRfc3339(*t, /*millis=*/true);
}

struct PositionText {
  Nullable order, time;
};
PositionText ToText(const std::optional<Position>& at) {
  if (!at) return {};
  return {std::to_string(at->order_key), TimeText(at->time)};
}

struct ReadingText {
  Nullable wh;
  PositionText at;
};
ReadingText ToText(const std::optional<MeterReading>& reading) {
  if (!reading) return {};
  return {DoubleText(reading->wh), ToText(std::optional<Position>(reading->at))};
}

const char* EventTypeName(ocpp::v1::TransactionEventType type) {
  switch (type) {
    case ocpp::v1::TRANSACTION_EVENT_TYPE_STARTED:
      return "Started";
    case ocpp::v1::TRANSACTION_EVENT_TYPE_UPDATED:
      return "Updated";
    case ocpp::v1::TRANSACTION_EVENT_TYPE_ENDED:
      return "Ended";
    default:
      return "Unspecified";
  }
}

const char* DialectName(ocpp::v1::Dialect dialect) {
  switch (dialect) {
    case ocpp::v1::DIALECT_OCPP201:
      return "ocpp2.0.1";
    case ocpp::v1::DIALECT_SEED:
      return "seed";
    default:
      return nullptr;
  }
}

// jsonb accepts only JSON; anything else is kept as a JSON string so it is never lost.
Nullable RawPayloadJson(const std::string& raw) {
  if (raw.empty()) return std::nullopt;
  if (nlohmann::json::accept(raw)) return raw;
  return nlohmann::json(raw).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct SessionKey {
  std::string charger_id, transaction_id;
  auto operator<=>(const SessionKey&) const = default;
};
using EventKey = std::tuple<std::string, std::string, std::string>;  // charger, tx, dedup key

EventKey KeyOf(const TransactionEvent& e) {
  return {e.charger_id(), e.transaction_id(), e.dedup_key()};
}

// Stores the events that are new; returns the keys of those actually inserted. `events` are in
// key order, which is also the order their unique-index entries are locked in.
std::set<EventKey> InsertEvents(pqxx::work& txn,
                                const std::vector<const TransactionEvent*>& events) {
  pg::ArrayLiteral charger, transaction, dedup, seq_no, order_key, type, trigger, charging_state,
      stopped_reason, event_time, received_at, register_wh, meter_start_wh, power_w,
      remote_start_id, evse_id, connector_id, id_token, id_token_type, offline, dialect,
      station_cost, connection_id, raw_payload, clock_suspect, authorization_status, account_id,
      authorization_flagged, authorization_reason, id_token_info, energy_interval_wh;
  for (const TransactionEvent* event : events) {
    const TransactionEvent& e = *event;
    charger.Text(e.charger_id());
    transaction.Text(e.transaction_id());
    dedup.Text(e.dedup_key());
    seq_no.OptText(TextIf(e.has_seq_no(), e.seq_no()));
    order_key.Int(e.order_key());
    type.Text(EventTypeName(e.event_type()));
    trigger.OptText(NullIfEmpty(e.trigger_reason()));
    charging_state.OptText(NullIfEmpty(e.charging_state()));
    stopped_reason.OptText(NullIfEmpty(e.stopped_reason()));
    event_time.Text(FormatRfc3339(FromProto(e.timestamp()), true));
    received_at.Text(FormatRfc3339(FromProto(e.received_at()), true));
    register_wh.OptText(TextIf(e.has_energy_register_wh(), e.energy_register_wh()));
    meter_start_wh.OptText(TextIf(e.has_meter_start_wh(), e.meter_start_wh()));
    power_w.OptText(TextIf(e.has_power_w(), e.power_w()));
    remote_start_id.OptText(TextIf(e.has_remote_start_id(), e.remote_start_id()));
    evse_id.Int(e.evse_id());
    connector_id.Int(e.connector_id());
    id_token.OptText(NullIfEmpty(e.id_token()));
    id_token_type.OptText(NullIfEmpty(e.id_token_type()));
    offline.Bool(e.offline());
    dialect.OptText(DialectName(e.dialect()));
    station_cost.OptText(TextIf(e.has_station_reported_cost(), e.station_reported_cost()));
    connection_id.OptText(NullIfEmpty(e.connection_id()));
    raw_payload.OptText(RawPayloadJson(e.raw_payload_json()));
    clock_suspect.Bool(ClockSuspect(e));
    const ocpp::v1::IdTokenDecision& decision = e.id_token_decision();
    authorization_status.OptText(NullIfEmpty(decision.status()));
    account_id.OptText(NullIfEmpty(decision.account_id()));
    authorization_flagged.Bool(decision.flagged());
    authorization_reason.OptText(NullIfEmpty(decision.reason()));
    id_token_info.OptText(decision.id_token_info_json().empty()
                              ? Nullable()
                              : RawPayloadJson(decision.id_token_info_json()));
    energy_interval_wh.OptText(TextIf(e.has_energy_interval_wh(), e.energy_interval_wh()));
  }
  const pqxx::result rows = ExecPrepared(
      txn, "billing_insert_events",
      "INSERT INTO transaction_events (charger_id, transaction_id, dedup_key, seq_no, order_key,"
      " event_type, trigger_reason, charging_state, stopped_reason, event_time, received_at,"
      " energy_register_wh, meter_start_wh, power_w, remote_start_id, evse_id, connector_id,"
      " id_token, id_token_type, offline, dialect, station_reported_cost, connection_id,"
      " raw_payload, clock_suspect, authorization_status, account_id, authorization_flagged,"
      " authorization_reason, id_token_info, energy_interval_wh)"
      " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],"
      " $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[],"
      " $12::float8[], $13::float8[], $14::float8[], $15::bigint[], $16::integer[],"
      " $17::integer[], $18::text[], $19::text[], $20::boolean[], $21::text[], $22::float8[],"
      " $23::text[], $24::jsonb[], $25::boolean[], $26::text[], $27::text[], $28::boolean[],"
      " $29::text[], $30::jsonb[], $31::float8[])"
      " ON CONFLICT (charger_id, transaction_id, dedup_key) DO NOTHING"
      " RETURNING charger_id, transaction_id, dedup_key",
      charger.str(), transaction.str(), dedup.str(), seq_no.str(), order_key.str(), type.str(),
      trigger.str(), charging_state.str(), stopped_reason.str(), event_time.str(),
      received_at.str(), register_wh.str(), meter_start_wh.str(), power_w.str(),
      remote_start_id.str(), evse_id.str(), connector_id.str(), id_token.str(), id_token_type.str(),
      offline.str(), dialect.str(), station_cost.str(), connection_id.str(), raw_payload.str(),
      clock_suspect.str(), authorization_status.str(), account_id.str(),
      authorization_flagged.str(), authorization_reason.str(), id_token_info.str(),
      energy_interval_wh.str());
  std::set<EventKey> inserted;
  for (const pqxx::row& row : rows) {
    inserted.emplace(row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>());
  }
  return inserted;
}

// Two text arrays naming sessions, in key order.
template <typename Map>
std::pair<std::string, std::string> KeyArrays(const Map& sessions) {
  pg::ArrayLiteral chargers, transactions;
  for (const auto& [key, unused] : sessions) {
    chargers.Text(key.charger_id);
    transactions.Text(key.transaction_id);
  }
  return {chargers.str(), transactions.str()};
}

// What one batch does to one session.
struct SessionWork {
  std::vector<const TransactionEvent*> new_events;  // in arrival order
  std::optional<pqxx::row> before;                  // locked row; unset if there is none
  std::optional<pqxx::row> after;                   // as updated
  SessionState state;
  std::shared_ptr<const Tariff> tariff;  // the session's own version
  MeterLimits limits;                    // what its readings may plausibly add
  bool settled = true;  // energy follows from the session alone (see MergeAndSettle)
};

// The EVSE's own maximum when the device model gave one, else the configured ceiling; a ceiling
// of 0 turns the check off for every session.
MeterLimits SessionLimits(const SessionState& session, const MeterLimits& configured) {
  if (!(configured.max_power_w > 0) || !session.max_power_w) return configured;
  return MeterLimits{*session.max_power_w};
}

// What the sessions' energy and price need of their stored events, the batch's own included:
// every register reading (a register that went down mid-transaction splits the energy in
// segments) and, for sessions whose tariff prices time, every event's charging state and time.
std::map<SessionKey, TransactionRecord> LoadRecords(
    pqxx::work& txn, const std::map<SessionKey, SessionWork*>& sessions) {
  pg::ArrayLiteral chargers, transactions, every_event;
  for (const auto& [key, work] : sessions) {
    chargers.Text(key.charger_id);
    transactions.Text(key.transaction_id);
    every_event.Bool(!work->tariff->EnergyOnly());
  }
  const pqxx::result rows = ExecPrepared(
      txn, "billing_load_records",
      "SELECT e.charger_id, e.transaction_id, e.order_key,"
      " (extract(epoch FROM e.event_time) * 1000000)::bigint AS event_time_us,"
      " (extract(epoch FROM CASE WHEN e.clock_suspect THEN e.received_at ELSE e.event_time END)"
      " * 1000000)::bigint AS effective_time_us,"
      " e.energy_register_wh, e.energy_interval_wh, e.charging_state FROM transaction_events e"
      " JOIN unnest($1::text[], $2::text[], $3::boolean[])"
      " AS k(charger_id, transaction_id, every_event)"
      " ON e.charger_id = k.charger_id AND e.transaction_id = k.transaction_id"
      " WHERE k.every_event OR e.energy_register_wh IS NOT NULL",
      chargers.str(), transactions.str(), every_event.str());
  std::map<SessionKey, TransactionRecord> records;
  for (const pqxx::row& row : rows) {
    TransactionRecord& record =
        records[{row["charger_id"].as<std::string>(), row["transaction_id"].as<std::string>()}];
    const Position at{row["order_key"].as<int64_t>(), *ReadTime(row["event_time_us"])};
    const TimePoint effective = *ReadTime(row["effective_time_us"]);
    if (!row["energy_register_wh"].is_null()) {
      record.readings.push_back({row["energy_register_wh"].as<double>(), at});
    }
    if (!row["energy_interval_wh"].is_null() && row["energy_interval_wh"].as<double>() > 0) {
      record.intervals.push_back({effective, effective, row["energy_interval_wh"].as<double>()});
    }
    if (!row["charging_state"].is_null()) {
      record.states.push_back({at, {effective, row["charging_state"].as<std::string>()}});
    }
    record.latest = record.latest ? std::max(*record.latest, effective) : effective;
  }
  return records;
}

// Writes the merged sessions back; returns them as stored.
std::map<SessionKey, pqxx::row> UpdateSessions(pqxx::work& txn,
                                               const std::map<SessionKey, SessionWork*>& sessions,
                                               const std::string& time_zone) {
  pg::ArrayLiteral charger, transaction, start_time, end_time, energy, cost, user_id, currency,
      stop_reason, meter_start_wh, meter_start_order, meter_start_time, meter_start_explicit,
      meter_stop_wh, meter_stop_order, meter_stop_time, user_id_order, user_id_time, started_seen,
      ended, event_count, clock_suspect, meter_resets, id_token_type, account_id,
      authorization_status, authorization_flagged, authorization_reason, implausible_readings,
      needs_review, review_reason, interval_wh, cost_components;
  for (const auto& [key, work] : sessions) {
    const SessionState& s = work->state;
    const ReadingText meter_start = ToText(s.meter_start);
    const ReadingText meter_stop = ToText(s.meter_stop);
    const PositionText user_id_at = ToText(s.user_id_at);
    charger.Text(key.charger_id);
    transaction.Text(key.transaction_id);
    start_time.OptText(TimeText(s.start_time));
    end_time.OptText(TimeText(s.end_time));
    energy.Text(FormatScaled(s.energy_wh, 3));
    cost.Text(FormatScaled(s.cost_hundredths, 2));
    user_id.OptText(NullIfEmpty(s.user_id));
    currency.Text(s.currency);
    stop_reason.OptText(NullIfEmpty(s.stop_reason));
    meter_start_wh.OptText(meter_start.wh);
    meter_start_order.OptText(meter_start.at.order);
    meter_start_time.OptText(meter_start.at.time);
    meter_start_explicit.Bool(s.meter_start_explicit);
    meter_stop_wh.OptText(meter_stop.wh);
    meter_stop_order.OptText(meter_stop.at.order);
    meter_stop_time.OptText(meter_stop.at.time);
    user_id_order.OptText(user_id_at.order);
    user_id_time.OptText(user_id_at.time);
    started_seen.Bool(s.started_seen);
    ended.Bool(s.ended);
    event_count.Int(s.event_count);
    clock_suspect.Bool(s.clock_suspect);
    meter_resets.Int(s.meter_resets);
    id_token_type.OptText(NullIfEmpty(s.id_token_type));
    account_id.OptText(NullIfEmpty(s.account_id));
    authorization_status.OptText(NullIfEmpty(s.authorization_status));
    authorization_flagged.Bool(s.authorization_flagged);
    authorization_reason.OptText(NullIfEmpty(s.authorization_reason));
    implausible_readings.Int(s.implausible_readings);
    needs_review.Bool(s.needs_review);
    review_reason.OptText(NullIfEmpty(s.review_reason));
    interval_wh.Double(s.interval_wh);
    cost_components.Text(ComponentsArray(s.cost));
  }
  const pqxx::result rows = ExecPrepared(
      txn, "billing_update_sessions",
      "UPDATE charger_usage_log u SET start_time = v.start_time, end_time = v.end_time,"
      " energy_consumed = v.energy, cost = v.cost, user_id = v.user_id, currency = v.currency,"
      " stop_reason = v.stop_reason, meter_start_wh = v.meter_start_wh,"
      " meter_start_order = v.meter_start_order, meter_start_time = v.meter_start_time,"
      " meter_start_explicit = v.meter_start_explicit, meter_stop_wh = v.meter_stop_wh,"
      " meter_stop_order = v.meter_stop_order, meter_stop_time = v.meter_stop_time,"
      " user_id_order = v.user_id_order, user_id_time = v.user_id_time,"
      " started_seen = v.started_seen, ended = v.ended, event_count = v.event_count,"
      " clock_suspect = v.clock_suspect, meter_resets = v.meter_resets,"
      " id_token_type = v.id_token_type, account_id = v.account_id,"
      " authorization_status = v.authorization_status,"
      " authorization_flagged = v.authorization_flagged,"
      " authorization_reason = v.authorization_reason,"
      " implausible_readings = v.implausible_readings, needs_review = v.needs_review,"
      " review_reason = v.review_reason, interval_wh = v.interval_wh,"
      " cost_components = v.cost_components::bigint[],"
      " stats_date = (coalesce(v.start_time, v.end_time) AT TIME ZONE $29)::date,"
      " updated_at = now()"
      " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[],"
      " $5::numeric[], $6::numeric[], $7::text[], $8::text[], $9::text[], $10::float8[],"
      " $11::bigint[], $12::timestamptz[], $13::boolean[], $14::float8[], $15::bigint[],"
      " $16::timestamptz[], $17::bigint[], $18::timestamptz[], $19::boolean[], $20::boolean[],"
      " $21::integer[], $22::boolean[], $23::integer[], $24::text[], $25::text[], $26::text[],"
      " $27::boolean[], $28::text[], $30::integer[], $31::boolean[], $32::text[], $33::float8[],"
      " $34::text[])"
      " AS v(charger_id, transaction_id, start_time, end_time, energy, cost, user_id, currency,"
      " stop_reason, meter_start_wh, meter_start_order, meter_start_time, meter_start_explicit,"
      " meter_stop_wh, meter_stop_order, meter_stop_time, user_id_order, user_id_time,"
      " started_seen, ended, event_count, clock_suspect, meter_resets, id_token_type, account_id,"
      " authorization_status, authorization_flagged, authorization_reason,"
      " implausible_readings, needs_review, review_reason, interval_wh, cost_components)"
      " WHERE u.charger_id = v.charger_id AND u.transaction_id = v.transaction_id"
      " RETURNING " +
          SessionColumns(),
      charger.str(), transaction.str(), start_time.str(), end_time.str(), energy.str(), cost.str(),
      user_id.str(), currency.str(), stop_reason.str(), meter_start_wh.str(),
      meter_start_order.str(), meter_start_time.str(), meter_start_explicit.str(),
      meter_stop_wh.str(), meter_stop_order.str(), meter_stop_time.str(), user_id_order.str(),
      user_id_time.str(), started_seen.str(), ended.str(), event_count.str(), clock_suspect.str(),
      meter_resets.str(), id_token_type.str(), account_id.str(), authorization_status.str(),
      authorization_flagged.str(), authorization_reason.str(), time_zone,
      implausible_readings.str(), needs_review.str(), review_reason.str(), interval_wh.str(),
      cost_components.str());
  std::map<SessionKey, pqxx::row> updated;
  for (const pqxx::row& row : rows) {
    updated.emplace(
        SessionKey{row["charger_id"].as<std::string>(), row["transaction_id"].as<std::string>()},
        row);
  }
  return updated;
}

// How a batch changes one daily_charger_stats row.
struct StatsDelta {
  int64_t sessions = 0;
  int64_t energy_wh = 0;
  int64_t revenue_hundredths = 0;
};
using StatsKey = std::pair<std::string, std::string>;  // charger, date

// Applies the batch's changes to the daily totals: a session counts on its date once it has
// ended, with its energy and cost as stored; a session that changes takes out what it added
// before. Sums of exact decimals, so the totals stay exact.
void ApplyStatsDeltas(pqxx::work& txn, const std::map<StatsKey, StatsDelta>& deltas) {
  pg::ArrayLiteral chargers, dates, sessions, energy, revenue;
  bool emptied = false;
  for (const auto& [key, delta] : deltas) {
    if (delta.sessions == 0 && delta.energy_wh == 0 && delta.revenue_hundredths == 0) continue;
    chargers.Text(key.first);
    dates.Text(key.second);
    sessions.Int(delta.sessions);
    energy.Text(FormatScaled(delta.energy_wh, 3));
    revenue.Text(FormatScaled(delta.revenue_hundredths, 2));
    emptied = emptied || delta.sessions < 0;
  }
  if (chargers.str() == "{}") return;
  // The lock the recomputing versions of billing take around the same row, in key order: a
  // replica still running such a version during a rolling update then never reads a total
  // half-way through this change.
  ExecPrepared(txn, "billing_lock_stats",
               "SELECT pg_advisory_xact_lock($1, hashtext(k.charger_id || k.date))"
               " FROM unnest($2::text[], $3::text[]) AS k(charger_id, date)",
               kDailyStatsLockClass, chargers.str(), dates.str());
  ExecPrepared(txn, "billing_add_stats",
               "INSERT INTO daily_charger_stats AS d (charger_id, date, sessions, total_energy,"
               " total_revenue)"
               " SELECT * FROM unnest($1::text[], $2::date[], $3::integer[], $4::numeric[],"
               " $5::numeric[])"
               " ON CONFLICT (charger_id, date) DO UPDATE SET"
               " sessions = d.sessions + EXCLUDED.sessions,"
               " total_energy = d.total_energy + EXCLUDED.total_energy,"
               " total_revenue = d.total_revenue + EXCLUDED.total_revenue, updated_at = now()",
               chargers.str(), dates.str(), sessions.str(), energy.str(), revenue.str());
  if (!emptied) return;
  // A session whose start moved to another date leaves nothing behind on the old one.
  ExecPrepared(txn, "billing_drop_empty_stats",
               "DELETE FROM daily_charger_stats d"
               " USING unnest($1::text[], $2::date[]) AS k(charger_id, date)"
               " WHERE d.charger_id = k.charger_id AND d.date = k.date AND d.sessions = 0",
               chargers.str(), dates.str());
}

void AddStats(const pqxx::row& row, int sign, std::map<StatsKey, StatsDelta>* deltas) {
  if (!row["ended"].as<bool>()) return;
  const std::string date = StatsDate(row);
  if (date.empty()) return;
  StatsDelta& delta = (*deltas)[{row["charger_id"].as<std::string>(), date}];
  delta.sessions += sign;
  delta.energy_wh += sign * row["energy_wh"].as<int64_t>();
  delta.revenue_hundredths += sign * row["cost_hundredths"].as<int64_t>();
}

// The idTokenInfo stored with the first copy of each repeated event that carries a token: a
// repeat is answered as the first copy was. Only repeats pay for this read.
std::map<EventKey, std::string> StoredIdTokenInfo(
    pqxx::work& txn, const std::vector<const TransactionEvent*>& events,
    const std::vector<bool>& is_new) {
  pg::ArrayLiteral chargers, transactions, dedups;
  bool any = false;
  for (size_t i = 0; i < events.size(); ++i) {
    if (is_new[i] || events[i]->id_token_type().empty()) continue;
    chargers.Text(events[i]->charger_id());
    transactions.Text(events[i]->transaction_id());
    dedups.Text(events[i]->dedup_key());
    any = true;
  }
  std::map<EventKey, std::string> answers;
  if (!any) return answers;
  const pqxx::result rows = ExecPrepared(
      txn, "billing_stored_id_token_info",
      "SELECT e.charger_id, e.transaction_id, e.dedup_key, e.id_token_info::text"
      " FROM transaction_events e"
      " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(charger_id, transaction_id, dedup)"
      " ON e.charger_id = k.charger_id AND e.transaction_id = k.transaction_id"
      " AND e.dedup_key = k.dedup WHERE e.id_token_info IS NOT NULL",
      chargers.str(), transactions.str(), dedups.str());
  for (const pqxx::row& row : rows) {
    answers.emplace(
        EventKey{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()},
        row[3].as<std::string>());
  }
  return answers;
}

// One database transaction for the whole batch. Throws on any failure; nothing is then stored.
std::vector<RecordResult> WriteBatch(const pg::Pool& pool, pqxx::connection& conn,
                                     const std::vector<const TransactionEvent*>& events,
                                     TariffStore& tariffs, const std::string& time_zone,
                                     const MeterLimits& limits) {
  pqxx::work txn(conn);
  // Every statement of the batch finds its rows by key: planned once per connection, by index.
  pg::UseKeyLookupPlans(txn, pool);

  // The first copy of each event is the candidate; later copies in the batch are duplicates.
  std::map<EventKey, const TransactionEvent*> candidates;
  for (const TransactionEvent* event : events) candidates.emplace(KeyOf(*event), event);
  std::vector<const TransactionEvent*> sorted;
  sorted.reserve(candidates.size());
  for (const auto& [key, event] : candidates) sorted.push_back(event);
  const std::set<EventKey> inserted = InsertEvents(txn, sorted);

  std::map<SessionKey, SessionWork> sessions;
  std::vector<bool> is_new(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const TransactionEvent& e = *events[i];
    SessionWork& work = sessions[{e.charger_id(), e.transaction_id()}];
    const auto candidate = candidates.find(KeyOf(e));
    is_new[i] = candidate->second == events[i] && inserted.count(candidate->first) > 0;
    if (is_new[i]) work.new_events.push_back(events[i]);
  }
  std::map<SessionKey, SessionWork*> changed;
  for (auto& [key, work] : sessions) {
    if (!work.new_events.empty()) changed.emplace(key, &work);
  }

  if (!changed.empty()) {
    // A new session takes its station's tariff, else "default", each in the version in force at
    // its first event; none stored: the flags' tariff (NULL).
    pg::ArrayLiteral chargers, transactions, stations, first_times, max_power;
    for (const auto& [key, work] : changed) {
      chargers.Text(key.charger_id);
      transactions.Text(key.transaction_id);
      // An event that came before control told the gateway the station carries none.
      std::string station;
      std::optional<double> evse_max_w;
      TimePoint first = EffectiveTime(*work->new_events.front());
      for (const TransactionEvent* e : work->new_events) {
        first = std::min(first, EffectiveTime(*e));
        if (station.empty()) station = e->station_id();
        if (!evse_max_w && e->has_evse_max_power_w() && e->evse_max_power_w() > 0) {
          evse_max_w = e->evse_max_power_w();
        }
      }
      stations.Text(station);
      max_power.OptText(TextIf(evse_max_w.has_value(), evse_max_w.value_or(0)));
      first_times.Text(FormatRfc3339(first, true));
    }
    ExecPrepared(txn, "billing_open_sessions",
                 "INSERT INTO charger_usage_log (charger_id, transaction_id, currency, station_id,"
                 " tariff_id, tariff_version, max_power_w)"
                 " SELECT k.charger_id, k.transaction_id, $3, nullif(k.station_id, ''),"
                 " t.tariff_id, t.version, k.max_power_w"
                 " FROM unnest($1::text[], $2::text[], $4::text[], $5::timestamptz[],"
                 " $6::float8[]) AS k(charger_id, transaction_id, station_id, first_time,"
                 " max_power_w)"
                 // Only sessions not stored yet look their tariff up.
                 " LEFT JOIN LATERAL (SELECT v.tariff_id, v.version FROM tariffs v"
                 " WHERE v.valid_from <= k.first_time AND v.tariff_id IN (coalesce((SELECT"
                 " s.tariff_id FROM station_tariffs s WHERE s.station_id = k.station_id),"
                 " 'default'), 'default')"
                 " ORDER BY v.tariff_id = 'default', v.valid_from DESC, v.version DESC LIMIT 1)"
                 " AS t ON true"
                 " WHERE NOT EXISTS (SELECT 1 FROM charger_usage_log u"
                 " WHERE u.charger_id = k.charger_id AND u.transaction_id = k.transaction_id)"
                 " ON CONFLICT (charger_id, transaction_id) DO NOTHING",
                 chargers.str(), transactions.str(), tariffs.flags_tariff().currency,
                 stations.str(), first_times.str(), max_power.str());
  }
  {
    // Locked in one order by every writer, so two batches (or replicas) cannot deadlock.
    const auto [chargers, transactions] = KeyArrays(sessions);
    const pqxx::result rows = ExecPrepared(
        txn, "billing_lock_sessions",
        "SELECT " + SessionColumns() +
            " FROM charger_usage_log u"
            " JOIN unnest($1::text[], $2::text[]) AS k(charger_id, transaction_id)"
            " ON u.charger_id = k.charger_id AND u.transaction_id = k.transaction_id"
            " ORDER BY u.charger_id COLLATE \"C\", u.transaction_id COLLATE \"C\" FOR UPDATE OF u",
        chargers, transactions);
    for (const pqxx::row& row : rows) {
      SessionWork& work =
          sessions[{row["charger_id"].as<std::string>(), row["transaction_id"].as<std::string>()}];
      work.before = row;
    }
  }

  // Merge each session's new events in arrival order; energy from the session itself where it
  // can, from all its readings where it must (out-of-order readings, resets, a late begin).
  std::map<SessionKey, SessionWork*> unsettled;
  for (auto& [key, work] : changed) {
    if (!work->before) throw std::logic_error("session row missing after insert");
    work->state = ReadSession(*work->before);
    work->tariff = tariffs.Version(txn, work->state.tariff_id, work->state.tariff_version);
    work->limits = SessionLimits(work->state, limits);
    for (const TransactionEvent* event : work->new_events) {
      if (work->settled) {
        work->settled = MergeAndSettle(*event, *work->tariff, &work->state, work->limits);
      } else {
        MergeEvent(*event, &work->state);
      }
    }
    if (!work->settled) unsettled.emplace(key, work);
  }
  if (!unsettled.empty()) {
    auto records = LoadRecords(txn, unsettled);
    for (auto& [key, work] : unsettled) {
      SettleSession(std::move(records[key]), *work->tariff, &work->state, work->limits);
    }
  }

  std::map<StatsKey, StatsDelta> deltas;
  if (!changed.empty()) {
    std::map<SessionKey, pqxx::row> updated = UpdateSessions(txn, changed, time_zone);
    for (auto& [key, work] : changed) {
      auto row = updated.find(key);
      if (row == updated.end()) throw std::logic_error("session row missing after update");
      work->after = row->second;
      AddStats(*work->before, -1, &deltas);
      AddStats(*work->after, +1, &deltas);
    }
    ApplyStatsDeltas(txn, deltas);
  }

  const std::map<EventKey, std::string> stored_answers = StoredIdTokenInfo(txn, events, is_new);
  std::vector<RecordResult> results(events.size());
  std::set<SessionKey> review_raised;  // sessions whose review one event of the batch raised
  for (size_t i = 0; i < events.size(); ++i) {
    const SessionKey key{events[i]->charger_id(), events[i]->transaction_id()};
    SessionWork& work = sessions[key];
    if (is_new[i] && work.after && work.after->at("needs_review").as<bool>() &&
        !work.before->at("needs_review").as<bool>() && review_raised.insert(key).second) {
      results[i].review_raised = true;
    }
    const std::optional<pqxx::row>& row = work.after ? work.after : work.before;
    if (!row) throw std::logic_error("stored event without a session row");
    results[i].duplicate = !is_new[i];
    results[i].session = ReadSession(*row);
    const SessionState& session = results[i].session;
    results[i].tariff_text =
        (work.tariff ? work.tariff
                     : tariffs.Version(txn, session.tariff_id, session.tariff_version))
            ->display_text;
    if (is_new[i]) {
      results[i].id_token_info_json = events[i]->id_token_decision().id_token_info_json();
    } else if (auto stored = stored_answers.find(KeyOf(*events[i]));
               stored != stored_answers.end()) {
      results[i].id_token_info_json = stored->second;
    }
  }
  txn.commit();
  return results;
}

}  // namespace

LedgerStore::LedgerStore(pg::Pool& pool, Tariff tariff, std::string time_zone)
    : pool_(pool), tariffs_(pool, std::move(tariff), time_zone), time_zone_(std::move(time_zone)) {}

std::vector<RecordOutcome> LedgerStore::RecordBatch(
    const std::vector<const TransactionEvent*>& events) {
  std::vector<RecordOutcome> outcomes(events.size());
  if (events.empty()) return outcomes;
  try {
    std::vector<RecordResult> results;
    for (int attempt = 1;; ++attempt) {
      try {
        pg::Pool& pool = batch_pool_ != nullptr ? *batch_pool_ : pool_;
        results = pool.Run([&](pqxx::connection& conn) {
          return WriteBatch(pool, conn, events, tariffs_, time_zone_, limits_);
        });
        break;
      } catch (const pqxx::transaction_rollback&) {
        // Deadlock or serialization failure: nothing was stored, so the batch can run again.
        if (attempt >= kBatchAttempts) throw;
      }
    }
    for (size_t i = 0; i < events.size(); ++i) outcomes[i].result = std::move(results[i]);
  } catch (const pqxx::broken_connection&) {
    for (auto& outcome : outcomes) outcome.error = std::current_exception();
  } catch (const pqxx::in_doubt_error&) {
    // The commit may have landed: every event gets the same answer and retries are idempotent.
    for (auto& outcome : outcomes) outcome.error = std::current_exception();
  } catch (...) {
    if (events.size() == 1) {
      outcomes[0].error = std::current_exception();
      return outcomes;
    }
    // Something in the batch was refused (bad data, a constraint): store the events one by one
    // so that only the culprit fails.
    for (size_t i = 0; i < events.size(); ++i) outcomes[i] = std::move(RecordBatch({events[i]})[0]);
  }
  return outcomes;
}

RecordResult LedgerStore::Record(const TransactionEvent& event) {
  RecordOutcome outcome = std::move(RecordBatch({&event})[0]);
  if (outcome.error) std::rethrow_exception(outcome.error);
  return std::move(*outcome.result);
}

std::optional<SessionState> LedgerStore::GetSession(const std::string& transaction_id,
                                                    const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<SessionState> {
    pqxx::read_transaction txn(conn);
    const pqxx::result rows = txn.exec_params(
        "SELECT " + SessionColumns() +
            " FROM charger_usage_log u WHERE transaction_id = $1 AND ($2 = '' OR charger_id = $2)"
            " ORDER BY updated_at DESC LIMIT 1",
        transaction_id, charger_id);
    if (rows.empty()) return std::nullopt;
    return ReadSession(rows[0]);
  });
}

std::vector<SessionState> LedgerStore::ListSessions(const SessionFilter& filter, int limit) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    const pqxx::result rows = txn.exec_params(
        "SELECT " + SessionColumns() +
            " FROM charger_usage_log u WHERE ($1 = '' OR charger_id = $1)"
            " AND ($2 = '' OR account_id = $2) AND (NOT $3 OR authorization_flagged)"
            " AND (NOT $5 OR needs_review)"
            " ORDER BY start_time DESC NULLS LAST, id DESC LIMIT $4",
        filter.charger_id, filter.account_id, filter.flagged_only, limit, filter.review_only);
    std::vector<SessionState> sessions;
    sessions.reserve(rows.size());
    for (const pqxx::row& row : rows) sessions.push_back(ReadSession(row));
    return sessions;
  });
}

std::vector<DailyStats> LedgerStore::GetDailyStats(const std::string& charger_id,
                                                   const std::string& from, const std::string& to,
                                                   const std::string& account_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    // An account's figures are summed from its ended sessions (the same ones, dated the same
    // way, that daily_charger_stats counts); the network's come from the maintained totals.
    const pqxx::result rows =
        account_id.empty()
            ? txn.exec_params(
                  "SELECT charger_id, to_char(date, 'YYYY-MM-DD') AS date, sessions,"
                  " total_energy, total_revenue FROM daily_charger_stats"
                  " WHERE date BETWEEN $1::date AND $2::date AND ($3 = '' OR charger_id = $3)"
                  " ORDER BY date, charger_id",
                  from, to, charger_id)
            : txn.exec_params(
                  "SELECT charger_id, to_char(stats_date, 'YYYY-MM-DD') AS date,"
                  " count(*) AS sessions, sum(energy_consumed) AS total_energy,"
                  " sum(cost) AS total_revenue FROM charger_usage_log"
                  " WHERE account_id = $4 AND ended"
                  " AND stats_date BETWEEN $1::date AND $2::date"
                  " AND ($3 = '' OR charger_id = $3)"
                  " GROUP BY charger_id, stats_date ORDER BY stats_date, charger_id",
                  from, to, charger_id, account_id);
    std::vector<DailyStats> stats;
    stats.reserve(rows.size());
    for (const pqxx::row& row : rows) {
      stats.push_back({row["charger_id"].as<std::string>(), row["date"].as<std::string>(),
                       row["sessions"].as<int64_t>(), row["total_energy"].as<double>(),
                       row["total_revenue"].as<double>()});
    }
    return stats;
  });
}

std::string LedgerStore::LocalDate(TimePoint t) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return txn
        .exec_params1("SELECT to_char(($1::timestamptz AT TIME ZONE $2)::date, 'YYYY-MM-DD')",
                      FormatRfc3339(t, true), time_zone_)[0]
        .as<std::string>();
  });
}

bool IsKnownTimeZone(pqxx::connection& conn, const std::string& time_zone) {
  try {
    pqxx::read_transaction txn(conn);
    txn.exec_params1("SELECT now() AT TIME ZONE $1", time_zone);
    return true;
  } catch (const pqxx::data_exception&) {
    return false;  // 22023 invalid_parameter_value: time zone "..." not recognized
  }
}

}  // namespace csms::billing
