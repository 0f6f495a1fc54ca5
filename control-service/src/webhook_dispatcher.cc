#include "csms/control/webhook_dispatcher.h"

#include <pqxx/pqxx>
#include <random>

#include "csms/common/log.h"
#include "csms/common/metrics.h"
#include "csms/control/alert_store.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";

metrics::Counter& Attempts(const char* outcome) {
  return metrics::Registry::Default()
      .AddCounter("csms_control_webhook_attempts_total",
                  "Webhook delivery attempts by outcome: delivered (2xx), retry (no answer, 408, "
                  "429, 5xx) or rejected (any other answer; not retried).",
                  {"outcome"})
      .Labels({outcome});
}

double UnitRandom() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, WebhookDispatcher& dispatcher)
      : pqxx::notification_receiver(conn, kAlertChannel), dispatcher_(dispatcher) {}
  void operator()(const std::string&, int) override { dispatcher_.Wake(); }

 private:
  WebhookDispatcher& dispatcher_;
};

}  // namespace

WebhookDispatcher::WebhookDispatcher(WebhookStore& store, WebhookSender& sender, Options options)
    : store_(store), sender_(sender), options_(std::move(options)) {
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Work(); });
  if (!options_.listen_url.empty() && options_.workers > 0) {
    listener_ = std::thread([this] { Listen(); });
  }
}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

void WebhookDispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty() && !listener_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  stop_listening_.store(true);
  sender_.Cancel();
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (listener_.joinable()) listener_.join();
  std::deque<Job> left;
  {
    std::lock_guard lock(mu_);
    left.swap(jobs_);
  }
  for (auto& job : left) job.done(std::nullopt);
}

void WebhookDispatcher::Wake() {
  {
    std::lock_guard lock(mu_);
    ++wakeups_;
  }
  cv_.notify_all();
}

void WebhookDispatcher::Submit(ClaimedDelivery claim,
                               std::function<void(std::optional<DeliveryOutcome>)> done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && !workers_.empty()) {
      jobs_.push_back({std::move(claim), std::move(done)});
      ++wakeups_;
      cv_.notify_one();
      return;
    }
  }
  done(std::nullopt);
}

std::optional<DeliveryOutcome> WebhookDispatcher::Deliver(const ClaimedDelivery& claim) {
  const TimePoint started = RealClock().Now();
  const WebhookRequest request =
      BuildWebhookRequest(claim.url, claim.secret, claim.alert_uid, claim.body, claim.attempt,
                          started, options_.timeout);
  const HttpAttempt answer = sender_.Post(request);
  if (answer.cancelled) {
    try {
      store_.Release(claim);
    } catch (const std::exception&) {
      // The lease runs out instead.
    }
    return std::nullopt;
  }
  const DeliveryOutcome outcome = ClassifyAttempt(answer.status);
  std::chrono::milliseconds retry_in{0};
  if (outcome == DeliveryOutcome::kRetry) {
    retry_in = options_.retry.Delay(claim.attempt, ParseRetryAfter(answer.retry_after, started),
                                    UnitRandom());
  }
  const bool recorded = store_.Record(claim, answer, outcome, started, retry_in);
  Attempts(OutcomeName(outcome)).Inc();
  const std::string what = "webhook " + std::to_string(claim.webhook_id) + " delivery " +
                           std::to_string(claim.id) + " (alert " + claim.alert_uid + ", attempt " +
                           std::to_string(claim.attempt) + ")";
  const std::string answered = answer.status > 0 ? "HTTP " + std::to_string(answer.status)
                                                 : log::Sanitize(answer.error, 200);
  if (!recorded) {
    CSMS_LOG(kInfo, kComponent) << what << ": " << answered
                                << "; the claim had run out, the attempt is only logged";
  } else if (outcome == DeliveryOutcome::kRejected) {
    CSMS_LOG(kWarn, kComponent) << what << " rejected by the receiver (" << answered << "; "
                                << log::Sanitize(answer.error, 200)
                                << "): not retried, the queue moves on";
  } else if (outcome == DeliveryOutcome::kRetry && claim.attempt == 1) {
    CSMS_LOG(kWarn, kComponent) << what << " failed (" << answered << "); next attempt in "
                                << retry_in.count() << " ms";
  } else if (outcome == DeliveryOutcome::kRetry) {
    CSMS_LOG(kInfo, kComponent) << what << " failed (" << answered << "); next attempt in "
                                << retry_in.count() << " ms";
  } else {
    CSMS_LOG(kDebug, kComponent) << what << " delivered in " << answer.latency.count() << " ms";
  }
  return outcome;
}

bool WebhookDispatcher::RunOnce() {
  std::optional<ClaimedDelivery> claim = store_.ClaimNext(lease());
  if (!claim) return false;
  Deliver(*claim);
  return true;
}

void WebhookDispatcher::Work() {
  bool warned = false;
  for (;;) {
    uint64_t seen = 0;
    std::optional<Job> job;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen = wakeups_;
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
    }
    bool busy = false;
    try {
      if (job) {
        auto outcome = Deliver(job->claim);
        auto done = std::move(job->done);
        job.reset();
        done(outcome);
        busy = true;
      } else {
        busy = RunOnce();
      }
      warned = false;
    } catch (const std::exception& e) {
      if (job) job->done(std::nullopt);
      if (!warned) {
        CSMS_LOG(kWarn, kComponent)
            << "webhook dispatcher: " << log::Sanitize(e.what(), 200) << "; retrying";
        warned = true;
      }
    }
    if (busy) continue;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.poll, [&] { return stopping_ || wakeups_ != seen; });
  }
}

void WebhookDispatcher::Listen() {
  while (!stop_listening_.load()) {
    try {
      pqxx::connection conn(options_.listen_url);
      Receiver receiver(conn, *this);
      conn.get_notifs();  // issues the LISTEN
      Wake();             // deliveries may have been queued while not listening
      while (!stop_listening_.load()) conn.await_notification(0, 200000);
    } catch (const std::exception&) {
      // Polling still finds everything; try again shortly.
      for (int i = 0; i < 10 && !stop_listening_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
}

}  // namespace csms::control
