#include "csms/control/waiter.h"

#include <algorithm>

namespace csms::control {

void EventWaiter::Notify() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

bool EventWaiter::WaitUntil(std::chrono::steady_clock::time_point deadline,
                            const std::function<bool()>& done,
                            const std::function<bool()>& cancelled) {
  for (;;) {
    // Read the generation before checking, so a Notify between the check and the wait is not
    // lost.
    uint64_t seen;
    {
      std::lock_guard lock(mu_);
      seen = generation_;
    }
    if (done()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline || cancelled()) return false;
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, std::min(deadline, now + poll_interval_),
                   [&] { return generation_ != seen; });
  }
}

}  // namespace csms::control
