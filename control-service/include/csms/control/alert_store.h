#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/alert_rules.h"
#include "csms/control/event_log_store.h"

namespace csms::control {

// NOTIFY channel: a transaction that queued webhook deliveries notifies it on commit, so the
// dispatchers of every replica look at once instead of at their next poll.
inline constexpr const char* kAlertChannel = "csms_control_alerts";

struct StoredAlert {
  int64_t id = 0;
  std::string uid, kind, charger_id;
  TimePoint occurred_at, raised_at;
  std::string body;  // the JSON receivers get
};

struct AlertFilter {
  std::string charger_id;          // "" for every charger
  std::vector<std::string> kinds;  // any of these; empty: all
};

struct AlertPage {
  std::vector<StoredAlert> alerts;  // newest first
  std::string next_cursor;          // "" on the last page
};

// What one offline sweep did.
struct OfflineSweep {
  bool ran = false;  // false: another replica was at it
  int raised = 0;    // charger_offline alerts
};

// Tables alerts and charger_offline_episodes; the deliveries Raise queues are WebhookStore's.
class AlertStore {
 public:
  explicit AlertStore(pg::Pool& pool) : pool_(pool) {}

  // Inside the transaction of the alerts' cause (a transactional outbox: an alert exists exactly
  // when its cause was committed): stores each alert and one delivery per webhook that is
  // enabled and wants it now (its kind, its charger, its N). Alerts of one charger are raised
  // one transaction at a time (an advisory lock per charger), so their ids, and their
  // deliveries' ids, follow commit order: the dispatcher's per-charger order is theirs. Returns
  // the alerts' ids in the order of `drafts`.
  static std::vector<int64_t> Raise(pqxx::transaction_base& txn,
                                    const std::vector<AlertDraft>& drafts, TimePoint now);

  // Inside a registry batch: the chargers seen (with the newest time each was seen) whose open
  // offline episodes that ends; closes them and returns their charger_online drafts.
  static std::vector<AlertDraft> EndOfflineEpisodes(
      pqxx::transaction_base& txn, const std::vector<std::pair<std::string, TimePoint>>& seen);

  // The periodic sweep (one replica at a time): for every N that an enabled webhook watches
  // (charger_offline or charger_online), each charger silent for N heartbeat intervals (plus
  // `grace`) at `now` and not alerted yet in this silence raises charger_offline once
  // (ShouldRaiseOffline). Chargers busy in a registry batch are left for the next sweep.
  OfflineSweep SweepOffline(TimePoint now, std::chrono::milliseconds heartbeat,
                            std::chrono::milliseconds grace, std::chrono::milliseconds lookback);

  // Newest first; `cursor` is a previous page's next_cursor. Throws std::invalid_argument for a
  // cursor this store did not hand out.
  AlertPage List(const AlertFilter& filter, int limit, const std::string& cursor);

 private:
  pg::Pool& pool_;
};

// The alerts of one registry batch (RegistryStore::ApplyBatch): collected as its ops apply,
// raised in its transaction.
class BatchAlerts {
 public:
  // A connector status report stored; `previous` is the status stored before it (nullopt: none).
  void StatusStored(const std::string& charger_id, int evse_id, int connector_id,
                    const std::string& status, TimePoint at,
                    const std::optional<std::string>& previous, bool from_status_notification);
  // What the event log stored of the batch (repeats it dropped are not in `stored`).
  void EventsStored(const std::vector<StoredEvent>& stored);
  // Alerts decided elsewhere in the batch (a firmware job that failed).
  void Add(std::vector<AlertDraft> drafts);
  // A charger seen at `at` (its newest message of the batch).
  void Seen(const std::string& charger_id, TimePoint at);
  // Raises what was collected: charger_online first (the charger is back before it says more).
  void Raise(pqxx::transaction_base& txn, TimePoint now);

 private:
  std::vector<AlertDraft> drafts_;
  std::vector<std::pair<std::string, TimePoint>> seen_;
};

}  // namespace csms::control
