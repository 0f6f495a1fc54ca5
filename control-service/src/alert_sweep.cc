#include "csms/control/alert_sweep.h"

#include "csms/common/log.h"

namespace csms::control {
namespace {
constexpr const char* kComponent = "control";
}  // namespace

AlertSweep::AlertSweep(AlertStore& alerts, WebhookStore& webhooks, Options options)
    : alerts_(alerts),
      webhooks_(webhooks),
      options_(options),
      next_purge_(std::chrono::steady_clock::now()) {
  if (options_.interval.count() <= 0) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, options_.interval, [this] { return stop_; })) {
      lock.unlock();
      RunOnce(RealClock().Now());
      lock.lock();
    }
  });
}

AlertSweep::~AlertSweep() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AlertSweep::RunOnce(TimePoint now) {
  std::lock_guard running(run_mu_);
  try {
    OfflineSweep swept =
        alerts_.SweepOffline(now, options_.heartbeat, options_.offline_grace, options_.max_age);
    if (swept.raised > 0) {
      CSMS_LOG(kInfo, kComponent) << swept.raised << " charger_offline alert(s) raised";
    }
    if (int expired = webhooks_.ExpireOlderThan(options_.max_age); expired > 0) {
      CSMS_LOG(kWarn, kComponent) << expired << " webhook deliveries expired undelivered (older "
                                  << "than --webhook-max-age)";
    }
    if (std::chrono::steady_clock::now() >= next_purge_) {
      next_purge_ = std::chrono::steady_clock::now() + options_.purge_every;
      if (int purged = webhooks_.PurgeOlderThan(options_.retention); purged > 0) {
        CSMS_LOG(kInfo, kComponent) << purged << " old alerts purged with their delivery log";
      }
    }
  } catch (const std::exception& e) {
    CSMS_LOG(kWarn, kComponent) << "alert sweep failed: " << log::Sanitize(e.what(), 200)
                                << "; next round in " << options_.interval.count() << " ms";
  }
}

}  // namespace csms::control
