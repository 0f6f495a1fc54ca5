#include "csms/billing/ledger_store.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

namespace csms::billing {
namespace {

using ocpp::v1::TransactionEvent;

// Advisory locks on (class, key) pairs live apart from single-key locks such as the one the
// migrations take; this class names "daily stats of one charger and date".
constexpr int kDailyStatsLockClass = 0x0b111;

std::string MicrosColumn(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000000)::bigint AS " + column + "_us";
}

// Every session read goes through this column list and ReadSession.
const std::string& SessionColumns() {
  static const std::string columns =
      "transaction_id, charger_id, coalesce(station_id, '') AS station_id,"
      " coalesce(user_id, '') AS user_id, user_id_order, " +
      MicrosColumn("user_id_time") + ", " + MicrosColumn("start_time") + ", " +
      MicrosColumn("end_time") + ", coalesce(stop_reason, '') AS stop_reason," +
      " meter_start_wh, meter_start_order, " + MicrosColumn("meter_start_time") +
      ", meter_start_explicit, meter_stop_wh, meter_stop_order, " +
      MicrosColumn("meter_stop_time") +
      ", started_seen, ended, clock_suspect, event_count, meter_resets,"
      " (energy_consumed * 1000)::bigint AS energy_wh, (cost * 100)::bigint AS cost_hundredths,"
      " currency, " +
      MicrosColumn("updated_at") + ", to_char(stats_date, 'YYYY-MM-DD') AS stats_date";
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

SessionState ReadSession(const pqxx::row& row) {
  SessionState s;
  s.transaction_id = row["transaction_id"].as<std::string>();
  s.charger_id = row["charger_id"].as<std::string>();
  s.station_id = row["station_id"].as<std::string>();
  s.user_id = row["user_id"].as<std::string>();
  s.user_id_at = ReadPosition(row["user_id_order"], row["user_id_time_us"]);
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
  s.cost_hundredths = row["cost_hundredths"].as<int64_t>();
  s.currency = row["currency"].as<std::string>();
  s.updated_at = ReadTime(row["updated_at_us"]);
  return s;
}

std::string StatsDate(const pqxx::row& row) {
  const pqxx::field date = row["stats_date"];
  return date.is_null() ? std::string() : date.as<std::string>();
}

// Parameter text for a nullable value; pqxx sends a null `const char*` as SQL NULL.
using Nullable = std::optional<std::string>;
const char* OrNull(const Nullable& text) { return text ? text->c_str() : nullptr; }
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

// Returns false when the event was stored before.
bool InsertEvent(pqxx::work& txn, const TransactionEvent& e) {
  const Nullable seq_no = TextIf(e.has_seq_no(), e.seq_no());
  const Nullable register_wh = TextIf(e.has_energy_register_wh(), e.energy_register_wh());
  const Nullable meter_start_wh = TextIf(e.has_meter_start_wh(), e.meter_start_wh());
  const Nullable power_w = TextIf(e.has_power_w(), e.power_w());
  const Nullable remote_start_id = TextIf(e.has_remote_start_id(), e.remote_start_id());
  const Nullable station_cost = TextIf(e.has_station_reported_cost(), e.station_reported_cost());
  const Nullable raw_payload = RawPayloadJson(e.raw_payload_json());
  const pqxx::result inserted = txn.exec_params(
      "INSERT INTO transaction_events (charger_id, transaction_id, dedup_key, seq_no, order_key,"
      " event_type, trigger_reason, charging_state, stopped_reason, event_time, received_at,"
      " energy_register_wh, meter_start_wh, power_w, remote_start_id, evse_id, connector_id,"
      " id_token, id_token_type, offline, dialect, station_reported_cost, connection_id,"
      " raw_payload, clock_suspect)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
      " $19, $20, $21, $22, $23, $24::jsonb, $25)"
      " ON CONFLICT (charger_id, transaction_id, dedup_key) DO NOTHING RETURNING id",
      e.charger_id(), e.transaction_id(), e.dedup_key(), OrNull(seq_no), e.order_key(),
      EventTypeName(e.event_type()), NullIfEmpty(e.trigger_reason()),
      NullIfEmpty(e.charging_state()), NullIfEmpty(e.stopped_reason()),
      FormatRfc3339(FromProto(e.timestamp()), true),
      FormatRfc3339(FromProto(e.received_at()), true), OrNull(register_wh), OrNull(meter_start_wh),
      OrNull(power_w), OrNull(remote_start_id), e.evse_id(), e.connector_id(),
      NullIfEmpty(e.id_token()), NullIfEmpty(e.id_token_type()), e.offline(),
      DialectName(e.dialect()), OrNull(station_cost), NullIfEmpty(e.connection_id()),
      OrNull(raw_payload), ClockSuspect(e));
  return !inserted.empty();
}

// Writes the merged session back and returns it as stored.
pqxx::row UpdateSession(pqxx::work& txn, const SessionState& s, const std::string& time_zone) {
  const Nullable start_time = TimeText(s.start_time);
  const Nullable end_time = TimeText(s.end_time);
  const ReadingText meter_start = ToText(s.meter_start);
  const ReadingText meter_stop = ToText(s.meter_stop);
  const PositionText user_id_at = ToText(s.user_id_at);
  return txn.exec_params1(
      "UPDATE charger_usage_log SET start_time = $2, end_time = $3, energy_consumed = $4,"
      " cost = $5, user_id = $6, currency = $7, stop_reason = $8, meter_start_wh = $9,"
      " meter_start_order = $10, meter_start_time = $11, meter_start_explicit = $12,"
      " meter_stop_wh = $13, meter_stop_order = $14, meter_stop_time = $15, user_id_order = $16,"
      " user_id_time = $17, started_seen = $18, ended = $19, event_count = $20,"
      " stats_date = (coalesce($2::timestamptz, $3::timestamptz) AT TIME ZONE $21)::date,"
      " clock_suspect = $23, meter_resets = $24, updated_at = now()"
      " WHERE charger_id = $22 AND transaction_id = $1 RETURNING " +
          SessionColumns(),
      s.transaction_id, OrNull(start_time), OrNull(end_time), FormatScaled(s.energy_wh, 3),
      FormatScaled(s.cost_hundredths, 2), NullIfEmpty(s.user_id), s.currency,
      NullIfEmpty(s.stop_reason), OrNull(meter_start.wh), OrNull(meter_start.at.order),
      OrNull(meter_start.at.time), s.meter_start_explicit, OrNull(meter_stop.wh),
      OrNull(meter_stop.at.order), OrNull(meter_stop.at.time), OrNull(user_id_at.order),
      OrNull(user_id_at.time), s.started_seen, s.ended, s.event_count, time_zone, s.charger_id,
      s.clock_suspect, s.meter_resets);
}

// Every register reading of the transaction, the event just inserted included. Readings, not
// first and last only: a register that went down mid-transaction splits the energy in segments.
std::vector<MeterReading> LoadReadings(pqxx::work& txn, const std::string& charger_id,
                                       const std::string& transaction_id) {
  const pqxx::result rows = txn.exec_params(
      "SELECT order_key, " + MicrosColumn("event_time") +
          ", energy_register_wh FROM transaction_events"
          " WHERE charger_id = $1 AND transaction_id = $2 AND energy_register_wh IS NOT NULL"
          " ORDER BY order_key, event_time, energy_register_wh",
      charger_id, transaction_id);
  std::vector<MeterReading> readings;
  readings.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    readings.push_back({row["energy_register_wh"].as<double>(),
                        {row["order_key"].as<int64_t>(), *ReadTime(row["event_time_us"])}});
  }
  return readings;
}

// Rebuilds one (charger, date) row from the ledger, the seed's upsert, so a retried or
// concurrent event can never count a session twice.
void RecomputeDailyStats(pqxx::work& txn, const std::string& charger_id, const std::string& date) {
  // Two replicas recomputing the same row must not interleave read and write.
  txn.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2 || $3))", kDailyStatsLockClass,
                  charger_id, date);
  txn.exec_params0(
      "INSERT INTO daily_charger_stats (charger_id, date, sessions, total_energy, total_revenue)"
      " SELECT $1, $2::date, count(*), coalesce(sum(energy_consumed), 0), coalesce(sum(cost), 0)"
      " FROM charger_usage_log WHERE charger_id = $1 AND stats_date = $2::date AND ended"
      " ON CONFLICT (charger_id, date) DO UPDATE SET sessions = EXCLUDED.sessions,"
      " total_energy = EXCLUDED.total_energy, total_revenue = EXCLUDED.total_revenue,"
      " updated_at = now()",
      charger_id, date);
  // A session whose start moved to another date leaves nothing behind on the old one.
  txn.exec_params0(
      "DELETE FROM daily_charger_stats WHERE charger_id = $1 AND date = $2::date AND sessions = 0",
      charger_id, date);
}

}  // namespace

LedgerStore::LedgerStore(pg::Pool& pool, Tariff tariff, std::string time_zone)
    : pool_(pool), tariff_(std::move(tariff)), time_zone_(std::move(time_zone)) {}

RecordResult LedgerStore::Record(const TransactionEvent& event) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    const std::string select_session =
        "SELECT " + SessionColumns() +
        " FROM charger_usage_log WHERE charger_id = $1 AND transaction_id = $2";
    RecordResult result;
    if (!InsertEvent(txn, event)) {
      result.duplicate = true;
      result.session =
          ReadSession(txn.exec_params1(select_session, event.charger_id(), event.transaction_id()));
      txn.commit();
      return result;
    }

    txn.exec_params0(
        "INSERT INTO charger_usage_log (charger_id, transaction_id, currency) VALUES ($1, $2, $3)"
        " ON CONFLICT (charger_id, transaction_id) DO NOTHING",
        event.charger_id(), event.transaction_id(), tariff_.currency);
    const pqxx::row before = txn.exec_params1(select_session + " FOR UPDATE", event.charger_id(),
                                              event.transaction_id());
    SessionState session = ReadSession(before);
    const bool was_ended = session.ended;
    MergeEvent(event, &session);
    // Under the row lock: an event stored concurrently settles again after this commit, so the
    // last one to commit has seen every reading.
    SettleEnergy(LoadReadings(txn, event.charger_id(), event.transaction_id()), tariff_, &session);
    const pqxx::row after = UpdateSession(txn, session, time_zone_);
    result.session = ReadSession(after);

    // Ordered, so that concurrent recomputations take their locks in the same order.
    std::set<std::string> stale_dates;
    if (result.session.ended) stale_dates.insert(StatsDate(after));
    if (was_ended) stale_dates.insert(StatsDate(before));
    stale_dates.erase("");
    for (const std::string& date : stale_dates) RecomputeDailyStats(txn, session.charger_id, date);
    txn.commit();
    return result;
  });
}

std::optional<SessionState> LedgerStore::GetSession(const std::string& transaction_id,
                                                    const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) -> std::optional<SessionState> {
    pqxx::read_transaction txn(conn);
    const pqxx::result rows = txn.exec_params(
        "SELECT " + SessionColumns() +
            " FROM charger_usage_log WHERE transaction_id = $1 AND ($2 = '' OR charger_id = $2)"
            " ORDER BY updated_at DESC LIMIT 1",
        transaction_id, charger_id);
    if (rows.empty()) return std::nullopt;
    return ReadSession(rows[0]);
  });
}

std::vector<SessionState> LedgerStore::ListSessions(const std::string& charger_id, int limit) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    const pqxx::result rows =
        txn.exec_params("SELECT " + SessionColumns() +
                            " FROM charger_usage_log WHERE ($1 = '' OR charger_id = $1)"
                            " ORDER BY start_time DESC NULLS LAST, id DESC LIMIT $2",
                        charger_id, limit);
    std::vector<SessionState> sessions;
    sessions.reserve(rows.size());
    for (const pqxx::row& row : rows) sessions.push_back(ReadSession(row));
    return sessions;
  });
}

std::vector<DailyStats> LedgerStore::GetDailyStats(const std::string& charger_id,
                                                   const std::string& from, const std::string& to) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    const pqxx::result rows = txn.exec_params(
        "SELECT charger_id, to_char(date, 'YYYY-MM-DD') AS date, sessions, total_energy,"
        " total_revenue FROM daily_charger_stats"
        " WHERE date BETWEEN $1::date AND $2::date AND ($3 = '' OR charger_id = $3)"
        " ORDER BY date, charger_id",
        from, to, charger_id);
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
