#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "csms/common/time_util.h"
#include "csms/control/alert_store.h"
#include "csms/control/webhook_store.h"

namespace csms::control {

// The alerts' periodic work, in every replica (the stores coordinate through PostgreSQL):
// charger_offline for chargers silent for N heartbeat intervals (AlertStore::SweepOffline, one
// replica at a time), deliveries pending longer than the maximum age expired, and, hourly, old
// alerts purged with their delivery log. Runs every `interval` until destroyed.
class AlertSweep {
 public:
  struct Options {
    std::chrono::milliseconds interval{10000};
    std::chrono::milliseconds heartbeat{30000};     // the interval chargers are told at boot
    std::chrono::milliseconds offline_grace{5000};  // beyond N intervals (ShouldRaiseOffline)
    // Deliveries pending longer expire; a silence older than this is not alerted any more.
    std::chrono::milliseconds max_age = std::chrono::hours(24 * 7);
    std::chrono::milliseconds retention = std::chrono::hours(24 * 30);  // finished alerts
    std::chrono::milliseconds purge_every = std::chrono::hours(1);
  };
  AlertSweep(AlertStore& alerts, WebhookStore& webhooks, Options options);
  ~AlertSweep();
  AlertSweep(const AlertSweep&) = delete;
  AlertSweep& operator=(const AlertSweep&) = delete;

  // One round, as the thread runs it (tests call it with their own `now`, and an interval of
  // zero, which starts no thread).
  void RunOnce(TimePoint now);

 private:
  AlertStore& alerts_;
  WebhookStore& webhooks_;
  const Options options_;
  std::mutex run_mu_;  // one round at a time
  std::chrono::steady_clock::time_point next_purge_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace csms::control
