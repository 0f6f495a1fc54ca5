#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace csms::control {

// Wakes commands waiting for a charger's TransactionEvent without holding a thread per command:
// one thread of its own evaluates every waiting command's check. A report handled by this
// process wakes them at once; the periodic poll catches reports that reached another control
// replica.
class EventWaiter {
 public:
  explicit EventWaiter(std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200))
      : poll_interval_(poll_interval) {}
  ~EventWaiter();
  EventWaiter(const EventWaiter&) = delete;
  EventWaiter& operator=(const EventWaiter&) = delete;

  // Called after any transaction event was stored.
  void Notify();

  // Evaluates `check` soon, after every Notify and at least every poll interval, until it
  // returns true (then done(true)) or the deadline passes or `cancelled` returns true (then
  // done(false)). A check that throws counts as false. `done` runs once, on the waiter's thread
  // (or at destruction, with false); check, cancelled and done must not call back into the waiter.
  void WaitAsync(std::chrono::steady_clock::time_point deadline, std::function<bool()> check,
                 std::function<bool()> cancelled, std::function<void(bool)> done);

 private:
  struct Wait {
    std::chrono::steady_clock::time_point deadline;
    std::function<bool()> check, cancelled;
    std::function<void(bool)> done;
  };
  void Loop();

  const std::chrono::milliseconds poll_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;  // bumped by Notify and by every new wait
  std::vector<Wait> waits_;
  bool stop_ = false;
  std::thread thread_;  // started by the first WaitAsync
};

}  // namespace csms::control
