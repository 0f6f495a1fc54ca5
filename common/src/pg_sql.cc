#include "csms/common/pg_sql.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace csms::pg {

SessionSettings KeyLookupSettings() {
  return {{"enable_seqscan", "off"}, {"plan_cache_mode", "force_generic_plan"}};
}

void UseKeyLookupPlans(pqxx::transaction_base& txn) {
  static const std::string kSet = [] {
    std::string sql;
    for (const auto& [name, value] : KeyLookupSettings()) {
      sql.append("SET LOCAL ").append(name).append(" = ").append(value).append("; ");
    }
    return sql;
  }();
  txn.exec(kSet);
}

void UseKeyLookupPlans(pqxx::transaction_base& txn, const Pool& pool) {
  static const SessionSettings kKeyLookups = KeyLookupSettings();
  if (pool.settings() != kKeyLookups) UseKeyLookupPlans(txn);
}

std::string TimestampText(TimePoint t) { return FormatRfc3339(t, /*millis=*/true); }

std::string TimestampTextMs(int64_t epoch_ms) {
  return TimestampText(TimePoint(std::chrono::milliseconds(epoch_ms)));
}

int64_t EpochMs(TimePoint t) {
  return std::chrono::floor<std::chrono::milliseconds>(t).time_since_epoch().count();
}

TimePoint FromEpochSeconds(double seconds) {
  return TimePoint(std::chrono::microseconds(std::llround(seconds * 1e6)));
}

std::optional<TimePoint> OptionalTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return FromEpochSeconds(f.as<double>());
}

std::string IdCursor(char prefix, int64_t id) { return prefix + std::to_string(id); }

int64_t ParseIdCursor(char prefix, const std::string& cursor) {
  int64_t id = 0;
  if (cursor.size() >= 2 && cursor[0] == prefix) {
    auto [end, ec] = std::from_chars(cursor.data() + 1, cursor.data() + cursor.size(), id);
    if (ec == std::errc() && end == cursor.data() + cursor.size() && id > 0) return id;
  }
  throw std::invalid_argument("cursor is not one this API handed out");
}

ArrayLiteral& ArrayLiteral::Text(std::string_view v) {
  // PostgreSQL text cannot hold NUL, and libpq reads every text parameter up to the first one: a
  // NUL from a charger (JSON "\u0000") would cut the whole literal short and fail the batch of
  // every charger in it. Each element ends at its first NUL instead, as a scalar parameter does.
  v = v.substr(0, v.find('\0'));
  Separate();
  text_ += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
  return *this;
}

ArrayLiteral& ArrayLiteral::Null() {
  Separate();
  text_ += "NULL";
  return *this;
}

ArrayLiteral& ArrayLiteral::Int(int64_t v) {
  Separate();
  text_ += std::to_string(v);
  return *this;
}

ArrayLiteral& ArrayLiteral::Bool(bool v) {
  Separate();
  text_ += v ? 't' : 'f';
  return *this;
}

ArrayLiteral& ArrayLiteral::Double(double v) {
  if (std::isnan(v)) return Text("NaN");
  if (std::isinf(v)) return Text(v > 0 ? "Infinity" : "-Infinity");
  Separate();
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact round trip
  text_.append(buf, end);
  return *this;
}

}  // namespace csms::pg
