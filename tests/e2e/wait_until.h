#pragma once

#include <chrono>
#include <thread>

namespace csms::testing {

// Polls `pred` every 50 ms until it holds (true) or `timeout` passes (false; it is asked once
// more at the end). For what the system does in the background: counted, never timed.
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace csms::testing
