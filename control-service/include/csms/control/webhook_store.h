#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "csms/common/pg.h"
#include "csms/common/time_util.h"
#include "csms/control/alert_store.h"
#include "csms/control/webhook_delivery.h"

namespace csms::control {

struct WebhookRecord {
  int64_t id = 0;
  std::string name, url, secret;
  std::vector<std::string> kinds;
  int offline_intervals = 3;
  std::optional<std::vector<std::string>> charger_ids;  // nullopt: every charger
  bool enabled = true;
  std::string created_by;
  TimePoint created_at, updated_at;
  int64_t pending_deliveries = 0;
};

// The fields an update sets; the others stay.
struct WebhookChanges {
  std::optional<std::string> name, url, secret;
  std::optional<std::vector<std::string>> kinds;
  std::optional<int> offline_intervals;
  std::optional<std::optional<std::vector<std::string>>> charger_ids;  // set to nullopt: all
  std::optional<bool> enabled;
};

// A delivery a dispatcher holds (leased) and is about to attempt.
struct ClaimedDelivery {
  int64_t id = 0, webhook_id = 0, alert_id = 0;
  int attempt = 0;  // this attempt's number (1 = first); Record needs it to still be current
  std::string queue, url, secret, alert_uid, body;
};

struct AttemptRecord {
  int attempt = 0;
  TimePoint started_at;
  std::optional<int> http_status;
  std::string outcome, error;
  int latency_ms = 0;
};

struct DeliveryRecord {
  int64_t id = 0, webhook_id = 0;
  StoredAlert alert;
  std::string state;  // pending, delivered, rejected, expired
  int attempts = 0;
  std::optional<int> last_http_status;
  std::string last_error;
  TimePoint next_attempt_at, created_at;
  std::optional<TimePoint> finished_at;
  std::vector<AttemptRecord> attempt_log;  // oldest first
};

struct DeliveryPage {
  std::vector<DeliveryRecord> deliveries;  // newest first
  std::string next_cursor;
};

// Tables webhooks, webhook_deliveries and webhook_attempts: the configuration, the queues the
// dispatchers work off (the claim and the record of each attempt) and the delivery log.
class WebhookStore {
 public:
  explicit WebhookStore(pg::Pool& pool) : pool_(pool) {}

  // Values are checked by the caller (AlertService).
  WebhookRecord Create(const WebhookRecord& webhook);
  std::vector<WebhookRecord> List();
  std::optional<WebhookRecord> Find(int64_t id);
  std::optional<WebhookRecord> Update(int64_t id, const WebhookChanges& changes);
  bool Delete(int64_t id);

  // Claims the most overdue delivery that is due, heads its (webhook, queue) and belongs to an
  // enabled webhook, leasing it for `lease` and counting the attempt; nullopt when none is.
  // Only a queue's head is ever claimed, so one delivery per queue is in flight, in id order.
  // Replicas and threads claim concurrently (FOR UPDATE SKIP LOCKED).
  std::optional<ClaimedDelivery> ClaimNext(std::chrono::milliseconds lease);
  // Logs the attempt and settles the delivery: delivered, rejected, or due again after
  // `retry_in` (with the rest of its queue behind it). False when the claim was no longer
  // current (its lease ran out and it was claimed again, it expired, or it was deleted): the
  // attempt is still logged, the delivery left as it is.
  bool Record(const ClaimedDelivery& claim, const HttpAttempt& attempt, DeliveryOutcome outcome,
              TimePoint started_at, std::chrono::milliseconds retry_in);
  // Gives a claim back unattempted (the dispatcher is stopping): due again at once.
  void Release(const ClaimedDelivery& claim);

  // Raises a webhook_test alert for this webhook only and claims its delivery; nullopt for an
  // unknown webhook.
  std::optional<ClaimedDelivery> RaiseTest(int64_t webhook_id, const std::string& requested_by,
                                           std::chrono::milliseconds lease, TimePoint now);

  std::optional<DeliveryRecord> FindDelivery(int64_t id);
  // Newest first; `state` "" for any. Throws std::invalid_argument for a bad cursor.
  DeliveryPage ListDeliveries(int64_t webhook_id, const std::string& state, int limit,
                              const std::string& cursor);

  // Pending deliveries queued longer than `max_age` become expired (their queues move on).
  int ExpireOlderThan(std::chrono::milliseconds max_age);
  // Alerts older than `retention` whose deliveries are all finished go, with their log.
  int PurgeOlderThan(std::chrono::milliseconds retention);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
