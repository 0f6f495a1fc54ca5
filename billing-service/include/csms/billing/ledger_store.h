#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "csms/billing/session_merge.h"
#include "csms/common/pg.h"

namespace csms::billing {

struct RecordResult {
  bool duplicate = false;  // the event was stored before; nothing changed
  SessionState session;
};

struct DailyStats {
  std::string charger_id;
  std::string date;  // YYYY-MM-DD, local date in the billing time zone
  int64_t sessions = 0;
  double total_energy_kwh = 0;
  double total_revenue = 0;
};

// The billing ledger in PostgreSQL. Each call borrows a pooled connection and throws pqxx
// exceptions: pqxx::broken_connection when the database cannot be reached.
class LedgerStore {
 public:
  // `time_zone` is a PostgreSQL time zone name; it decides the date a session counts towards.
  LedgerStore(pg::Pool& pool, Tariff tariff, std::string time_zone);

  // Stores the event and merges it into its session, in one database transaction. An event
  // stored before (same charger, transaction and dedup key) changes nothing.
  RecordResult Record(const ocpp::v1::TransactionEvent& event);

  // Transaction ids are unique per charger; with an empty charger_id the most recently updated
  // session with that id is returned.
  std::optional<SessionState> GetSession(const std::string& transaction_id,
                                         const std::string& charger_id = "");
  // Newest first; all chargers when charger_id is empty.
  std::vector<SessionState> ListSessions(const std::string& charger_id, int limit);
  // Dates from..to (YYYY-MM-DD, inclusive), by date then charger; all chargers when empty.
  std::vector<DailyStats> GetDailyStats(const std::string& charger_id, const std::string& from,
                                        const std::string& to);
  // The date (YYYY-MM-DD) that `t` falls on in the billing time zone.
  std::string LocalDate(TimePoint t);

  const Tariff& tariff() const { return tariff_; }
  const std::string& time_zone() const { return time_zone_; }

 private:
  pg::Pool& pool_;
  const Tariff tariff_;
  const std::string time_zone_;
};

// True when PostgreSQL knows the time zone name ("UTC", "Asia/Seoul", ...). Connection errors
// are thrown, not reported as an unknown zone.
bool IsKnownTimeZone(pqxx::connection& conn, const std::string& time_zone);

}  // namespace csms::billing
