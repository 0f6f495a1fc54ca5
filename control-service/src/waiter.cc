#include "csms/control/waiter.h"

#include <algorithm>

namespace csms::control {

EventWaiter::~EventWaiter() {
  std::vector<Wait> left;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    left.swap(waits_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& wait : left) wait.done(false);
}

void EventWaiter::Notify() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

void EventWaiter::WaitAsync(std::chrono::steady_clock::time_point deadline,
                            std::function<bool()> check, std::function<bool()> cancelled,
                            std::function<void(bool)> done) {
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      done(false);
      return;
    }
    waits_.push_back({deadline, std::move(check), std::move(cancelled), std::move(done)});
    ++generation_;  // evaluate the new wait at once: its event may be stored already
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  }
  cv_.notify_all();
}

void EventWaiter::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stop_) return;
    // Read the generation before checking, so a Notify during the checks is not lost.
    const uint64_t seen = generation_;
    std::vector<Wait> pending;
    pending.swap(waits_);
    lock.unlock();

    std::vector<std::pair<Wait, bool>> finished;
    std::vector<Wait> still;
    const auto now = std::chrono::steady_clock::now();
    for (auto& wait : pending) {
      bool ok = false;
      try {
        ok = wait.check();
      } catch (...) {
        ok = false;  // the database may be back at the next poll
      }
      if (ok) {
        finished.emplace_back(std::move(wait), true);
      } else if (now >= wait.deadline || (wait.cancelled && wait.cancelled())) {
        finished.emplace_back(std::move(wait), false);
      } else {
        still.push_back(std::move(wait));
      }
    }
    for (auto& [wait, ok] : finished) wait.done(ok);

    lock.lock();
    for (auto& wait : still) waits_.push_back(std::move(wait));
    if (waits_.empty()) {
      cv_.wait(lock, [&] { return stop_ || !waits_.empty(); });
      continue;
    }
    auto wake = std::chrono::steady_clock::now() + poll_interval_;
    for (const auto& wait : waits_) wake = std::min(wake, wait.deadline);
    cv_.wait_until(lock, wake, [&] { return stop_ || generation_ != seen; });
  }
}

}  // namespace csms::control
