#include "csms/control/maintenance.h"

#include "csms/common/log.h"

namespace csms::control {
namespace {
constexpr const char* kComponent = "control";
}  // namespace

Maintenance::Maintenance(EventLogStore& events, LogUploadStore* log_uploads, Options options)
    : events_(events), log_uploads_(log_uploads), options_(options) {
  RunOnce();
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, options_.interval, [this] { return stop_; })) {
      lock.unlock();
      RunOnce();
      lock.lock();
    }
  });
}

Maintenance::~Maintenance() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Maintenance::RunOnce() {
  try {
    EventLogMaintenance done = events_.Maintain(RealClock().Now(), options_.partition_days_ahead,
                                                options_.event_retention);
    if (done.created > 0 || done.dropped > 0) {
      CSMS_LOG(kInfo, kComponent) << "event log: " << done.created << " day partitions created, "
                                  << done.dropped << " expired ones dropped";
    }
  } catch (const std::exception& e) {
    // Events still land in the default partition meanwhile; the next run tries again.
    CSMS_LOG(kWarn, kComponent) << "event log maintenance failed: " << log::Sanitize(e.what(), 200);
  }
  if (!log_uploads_) return;
  try {
    log_uploads_->Maintain(options_.log_upload_retention);
  } catch (const std::exception& e) {
    CSMS_LOG(kWarn, kComponent) << "log upload maintenance failed: "
                                << log::Sanitize(e.what(), 200);
  }
}

}  // namespace csms::control
