#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "csms/control/webhook_delivery.h"
#include "csms/control/webhook_store.h"

namespace csms::control {

// Makes one POST. Implementations: HttpWebhookSender (webhook_http.h); tests use fakes.
class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  // Blocks for at most request.timeout (plus name resolution).
  virtual HttpAttempt Post(const WebhookRequest& request) = 0;
  // Posts in flight, and any later one, return at once with `cancelled` set.
  virtual void Cancel() {}
};

// Works off the webhook queues: threads that claim the head of a (webhook, charger) queue
// (WebhookStore::ClaimNext), POST it signed, and record the attempt; a failed attempt waits
// with exponential backoff (RetryPolicy; Retry-After when the receiver gives one). Every replica
// runs one; they share the work through the database. Delivery is at least once: a replica that
// dies between sending and recording leaves a lease that runs out, and the alert goes again with
// the same Idempotency-Key.
class WebhookDispatcher {
 public:
  struct Options {
    int workers = 4;  // 0: no threads (tests drive RunOnce)
    // How often an idle worker looks for due deliveries; a NOTIFY on kAlertChannel (when
    // listen_url is set) wakes them sooner.
    std::chrono::milliseconds poll{1000};
    std::chrono::milliseconds timeout{10000};  // per attempt
    RetryPolicy retry;
    std::string listen_url;  // database to LISTEN on; "" polls only
  };
  WebhookDispatcher(WebhookStore& store, WebhookSender& sender, Options options);
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Stops the workers (a POST in flight is cancelled and its delivery released) and answers
  // what was submitted and not yet attempted. Idempotent.
  void Stop();

  // Claims and attempts one due delivery; false when none was due.
  bool RunOnce();
  // One attempt of a delivery this process claimed, recorded; nullopt when cancelled.
  std::optional<DeliveryOutcome> Deliver(const ClaimedDelivery& claim);
  // A claimed delivery to attempt on the next free worker (TestWebhook); `done` runs once, with
  // the outcome or nullopt (stopped first, or no workers).
  void Submit(ClaimedDelivery claim, std::function<void(std::optional<DeliveryOutcome>)> done);
  // Wakes idle workers (new deliveries were queued).
  void Wake();

  // How long a claim is held: an attempt's timeout plus a margin for recording it.
  std::chrono::milliseconds lease() const { return options_.timeout + std::chrono::seconds(30); }

 private:
  struct Job {
    ClaimedDelivery claim;
    std::function<void(std::optional<DeliveryOutcome>)> done;
  };
  void Work();
  void Listen();

  WebhookStore& store_;
  WebhookSender& sender_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t wakeups_ = 0;
  std::deque<Job> jobs_;
  std::atomic<bool> stop_listening_{false};
  std::vector<std::thread> workers_;
  std::thread listener_;
};

}  // namespace csms::control
