#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace csms::control {

// Wakes commands waiting for a charger's TransactionEvent. A report handled by this process wakes
// them at once; the periodic poll catches reports that reached another control replica.
class EventWaiter {
 public:
  explicit EventWaiter(std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200))
      : poll_interval_(poll_interval) {}

  // Called after any transaction event was stored.
  void Notify();

  // Evaluates `done` now, after every Notify and at least every poll interval, until it returns
  // true (then true) or the deadline or `cancelled` hits (then false).
  bool WaitUntil(
      std::chrono::steady_clock::time_point deadline, const std::function<bool()>& done,
      const std::function<bool()>& cancelled = [] { return false; });

 private:
  std::chrono::milliseconds poll_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
};

}  // namespace csms::control
