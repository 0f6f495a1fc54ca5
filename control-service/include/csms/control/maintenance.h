#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "csms/control/event_log_store.h"
#include "csms/control/log_upload_store.h"

namespace csms::control {

// Control's housekeeping, in every replica (the stores coordinate through PostgreSQL): the event
// log's day partitions ahead and its retention; log upload tokens that expired, unfinished
// upload attempts and old uploads. Runs once when constructed, so partitions exist
// before the service serves, then every `interval` until destroyed.
class Maintenance {
 public:
  struct Options {
    std::chrono::hours event_retention{90 * 24};       // zero keeps every event
    std::chrono::hours log_upload_retention{30 * 24};  // zero keeps every upload
    int partition_days_ahead = 7;
    std::chrono::milliseconds interval = std::chrono::hours(1);
  };
  // `log_uploads` null: no upload housekeeping.
  Maintenance(EventLogStore& events, LogUploadStore* log_uploads, Options options);
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

 private:
  void RunOnce();

  EventLogStore& events_;
  LogUploadStore* log_uploads_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace csms::control
