#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "csms/control/event_log_store.h"

namespace csms::control {

// Control's housekeeping, in every replica (the stores coordinate through PostgreSQL): the event
// log's day partitions ahead and its retention. Runs once when constructed, so partitions exist
// before the service serves, then every `interval` until destroyed.
class Maintenance {
 public:
  struct Options {
    std::chrono::hours event_retention{90 * 24};  // zero keeps every event
    int partition_days_ahead = 7;
    std::chrono::milliseconds interval = std::chrono::hours(1);
  };
  Maintenance(EventLogStore& events, Options options);
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

 private:
  void RunOnce();

  EventLogStore& events_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace csms::control
