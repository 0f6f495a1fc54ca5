#pragma once

#include <chrono>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/v1/control.pb.h"

namespace csms::control {

// The kind of the CSMS's own security events about a charger (failed authentication, ...).
inline constexpr const char* kCsmsSecurityEvent = "CsmsSecurityEvent";

struct EventFilter {
  std::string charger_id;
  std::vector<std::string> kinds;  // any of these; empty: all
  std::string type;                // exact; empty: any
  std::optional<TimePoint> since;  // received at or after
};

struct EventPage {
  std::vector<v1::ChargerEvent> events;  // newest first (in the order they were stored)
  std::string next_cursor;               // "" on the last page
};

// An event Insert stored (not a repeat it dropped), with the id it got.
struct StoredEvent {
  int64_t id = 0;
  const v1::ChargerEvent* event = nullptr;  // one of Insert's arguments
};

// What Maintain did.
struct EventLogMaintenance {
  int created = 0;  // day partitions created
  int dropped = 0;  // expired day partitions dropped
};

// Table charger_events: each charger's event log, partitioned by day of receipt.
class EventLogStore {
 public:
  explicit EventLogStore(pg::Pool& pool) : pool_(pool) {}

  // Inside another store's transaction (the registry batch): stores the events that are not a
  // repeat of one stored in the last two days (same charger, kind and payload; for
  // kCsmsSecurityEvent: same type and client address within the same minute, so an attacker's
  // password guesses fill no disk). Returns the events stored, in the order given.
  static std::vector<StoredEvent> Insert(pqxx::transaction_base& txn,
                                         const std::vector<const v1::ChargerEvent*>& events);

  // Newest first; `cursor` is a previous page's next_cursor ("" for the first page). Throws
  // std::invalid_argument for a cursor this store did not hand out.
  EventPage List(const EventFilter& filter, int limit, const std::string& cursor);

  // Creates the day partitions from the day before `now` to `days_ahead` days after it, and
  // drops the partitions whose whole day is older than `retention` (zero keeps everything).
  // Several replicas may run it at once: one does the work, the others return at once.
  EventLogMaintenance Maintain(TimePoint now, int days_ahead, std::chrono::hours retention);

 private:
  pg::Pool& pool_;
};

// The dedup key Insert uses for an event (exposed for tests).
std::string EventDedupKey(const v1::ChargerEvent& event);

}  // namespace csms::control
