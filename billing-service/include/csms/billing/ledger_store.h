#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "csms/billing/session_merge.h"
#include "csms/billing/tariff_store.h"
#include "csms/common/pg.h"

namespace csms::billing {

struct RecordResult {
  bool duplicate = false;  // the event was stored before; nothing changed
  SessionState session;
  // The idTokenInfo the charger is answered: the event's own decision, or for a repeat the one
  // stored with its first copy ("" when it carried none).
  std::string id_token_info_json;
  // This event made its session need review (the first of its batch to change the session).
  bool review_raised = false;
  // The display text of the session's tariff version ("" for none).
  std::string tariff_text;
};

// Which sessions ListSessions returns; "" and false are no filter.
struct SessionFilter {
  std::string charger_id;
  std::string account_id;
  bool flagged_only = false;  // authorization_flagged sessions only
  bool review_only = false;   // sessions that need an operator's review (needs_review)
};

// What became of one event of a batch: its result, or what it threw.
struct RecordOutcome {
  std::optional<RecordResult> result;
  std::exception_ptr error;
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
  // Stores many events in one database transaction (one commit) and gives each its own
  // outcome, as if they had been recorded one after the other in this order; a session's result
  // is as it stands at the end of the batch. When the batch fails for a reason other than the
  // connection, the events are retried one by one, so a bad event fails alone.
  std::vector<RecordOutcome> RecordBatch(
      const std::vector<const ocpp::v1::TransactionEvent*>& events);

  // Transaction ids are unique per charger; with an empty charger_id the most recently updated
  // session with that id is returned.
  std::optional<SessionState> GetSession(const std::string& transaction_id,
                                         const std::string& charger_id = "");
  // Newest first.
  std::vector<SessionState> ListSessions(const SessionFilter& filter, int limit);
  // Dates from..to (YYYY-MM-DD, inclusive), by date then charger; all chargers when empty;
  // only the sessions of `account_id` when it is not empty.
  std::vector<DailyStats> GetDailyStats(const std::string& charger_id, const std::string& from,
                                        const std::string& to, const std::string& account_id = "");
  // The date (YYYY-MM-DD) that `t` falls on in the billing time zone.
  std::string LocalDate(TimePoint t);

  // Batches (RecordBatch) run on `pool` from now on: connections of their own, best with
  // pg::KeyLookupSettings (then a batch saves the round trip that sets them).
  void set_batch_pool(pg::Pool* pool) { batch_pool_ = pool; }
  // What a reading may plausibly add (session_merge.h); readings above it are not billed.
  void set_meter_limits(MeterLimits limits) { limits_ = limits; }

  // The flags' tariff (--price-per-kwh, --currency).
  const Tariff& tariff() const { return tariffs_.flags_tariff(); }
  TariffStore& tariffs() { return tariffs_; }
  const std::string& time_zone() const { return time_zone_; }

 private:
  pg::Pool& pool_;
  pg::Pool* batch_pool_ = nullptr;
  MeterLimits limits_;
  TariffStore tariffs_;
  const std::string time_zone_;
};

// True when PostgreSQL knows the time zone name ("UTC", "Asia/Seoul", ...). Connection errors
// are thrown, not reported as an unknown zone.
bool IsKnownTimeZone(pqxx::connection& conn, const std::string& time_zone);

}  // namespace csms::billing
