#include "csms/control/command_log_store.h"

#include <cmath>
#include <stdexcept>

#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

using nlohmann::json;

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

int64_t CommandLogStore::Record(const CommandLogEntry& e) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    pqxx::row row = txn.exec_params1(
        "INSERT INTO command_log (charger_id, issued_by, action, request, outcome, response, "
        "sent_at, latency_ms) VALUES ($1, $2, $3, $4::jsonb, $5, $6::jsonb, $7, $8) RETURNING id",
        e.charger_id, e.issued_by, e.action, Dump(e.request), e.outcome,
        e.response.is_null() ? std::optional<std::string>() : std::optional(Dump(e.response)),
        FormatRfc3339(e.sent_at, /*millis=*/true), e.latency_ms);
    txn.commit();
    return row[0].as<int64_t>();
  });
}

CommandLogPage CommandLogStore::List(const std::string& charger_id, int limit,
                                     const std::string& cursor) {
  std::optional<int64_t> before;
  if (!cursor.empty()) before = pg::ParseIdCursor('c', cursor);
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    // One more than asked tells whether there is a next page.
    pqxx::result rows = txn.exec_params(
        "SELECT id, issued_by, action, request::text, outcome, response::text, "
        "extract(epoch FROM sent_at), latency_ms FROM command_log "
        "WHERE charger_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        charger_id, before, limit + 1);
    CommandLogPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.entries.size()) == limit) {
        page.next_cursor = pg::IdCursor('c', page.entries.back().id);
        break;
      }
      CommandLogEntry e;
      e.id = row[0].as<int64_t>();
      e.charger_id = charger_id;
      e.issued_by = row[1].c_str();
      e.action = row[2].c_str();
      e.request = json::parse(row[3].c_str(), nullptr, false);
      e.outcome = row[4].c_str();
      if (!row[5].is_null()) e.response = json::parse(row[5].c_str(), nullptr, false);
      e.sent_at = TimePoint(std::chrono::microseconds(std::llround(row[6].as<double>() * 1e6)));
      e.latency_ms = row[7].as<int32_t>();
      page.entries.push_back(std::move(e));
    }
    return page;
  });
}

}  // namespace csms::control
