#include "csms/control/waiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace csms::control {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(EventWaiter, NotifyWakesBeforeThePollInterval) {
  EventWaiter waiter(10s);
  std::atomic<bool> ready{false};
  std::thread notifier([&] {
    std::this_thread::sleep_for(50ms);
    ready = true;
    waiter.Notify();
  });
  auto start = Clock::now();
  EXPECT_TRUE(waiter.WaitUntil(start + 5s, [&] { return ready.load(); }));
  EXPECT_LT(Clock::now() - start, 2s);
  notifier.join();
}

TEST(EventWaiter, PollsWithoutNotify) {
  // What another replica stored is only seen by polling.
  EventWaiter waiter(20ms);
  int checks = 0;
  EXPECT_TRUE(waiter.WaitUntil(Clock::now() + 5s, [&] { return ++checks >= 5; }));
  EXPECT_EQ(checks, 5);
}

TEST(EventWaiter, GivesUpAtTheDeadline) {
  EventWaiter waiter(20ms);
  auto start = Clock::now();
  EXPECT_FALSE(waiter.WaitUntil(start + 150ms, [] { return false; }));
  EXPECT_GE(Clock::now() - start, 150ms);
}

TEST(EventWaiter, StopsWhenCancelled) {
  EventWaiter waiter(20ms);
  auto start = Clock::now();
  EXPECT_FALSE(waiter.WaitUntil(
      start + 10s, [] { return false; }, [] { return true; }));
  EXPECT_LT(Clock::now() - start, 1s);
}

}  // namespace
}  // namespace csms::control
