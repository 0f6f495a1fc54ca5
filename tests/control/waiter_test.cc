#include "csms/control/waiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace csms::control {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// WaitAsync's outcome as a future.
std::future<bool> Wait(
    EventWaiter& waiter, Clock::time_point deadline, std::function<bool()> check,
    std::function<bool()> cancelled = [] { return false; }) {
  auto promise = std::make_shared<std::promise<bool>>();
  waiter.WaitAsync(deadline, std::move(check), std::move(cancelled),
                   [promise](bool ok) { promise->set_value(ok); });
  return promise->get_future();
}

TEST(EventWaiter, NotifyWakesBeforeThePollInterval) {
  EventWaiter waiter(10s);
  std::atomic<bool> ready{false};
  auto start = Clock::now();
  auto done = Wait(waiter, start + 5s, [&] { return ready.load(); });
  std::this_thread::sleep_for(50ms);
  ready = true;
  waiter.Notify();
  EXPECT_TRUE(done.get());
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(EventWaiter, ChecksAtOnceWhenTheEventIsAlreadyThere) {
  EventWaiter waiter(10s);
  auto start = Clock::now();
  EXPECT_TRUE(Wait(waiter, start + 5s, [] { return true; }).get());
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(EventWaiter, PollsWithoutNotify) {
  // What another replica stored is only seen by polling.
  EventWaiter waiter(20ms);
  std::atomic<int> checks{0};
  EXPECT_TRUE(Wait(waiter, Clock::now() + 5s, [&] { return ++checks >= 5; }).get());
  EXPECT_EQ(checks.load(), 5);
}

TEST(EventWaiter, GivesUpAtTheDeadline) {
  EventWaiter waiter(20ms);
  auto start = Clock::now();
  EXPECT_FALSE(Wait(waiter, start + 150ms, [] { return false; }).get());
  EXPECT_GE(Clock::now() - start, 150ms);
}

TEST(EventWaiter, StopsWhenCancelled) {
  EventWaiter waiter(20ms);
  auto start = Clock::now();
  EXPECT_FALSE(Wait(
                   waiter, start + 10s, [] { return false; }, [] { return true; })
                   .get());
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(EventWaiter, ManyWaitsShareOneThreadAndFinishIndependently) {
  EventWaiter waiter(20ms);
  std::atomic<bool> first{false};
  auto start = Clock::now();
  auto a = Wait(waiter, start + 5s, [&] { return first.load(); });
  auto b = Wait(waiter, start + 100ms, [] { return false; });
  auto c = Wait(waiter, start + 5s, [] {
    throw std::runtime_error("database down");
    return true;
  });
  EXPECT_FALSE(b.get());  // its deadline, while the others wait on
  first = true;
  waiter.Notify();
  EXPECT_TRUE(a.get());
  EXPECT_EQ(c.wait_for(0s), std::future_status::timeout);  // a throwing check is "not yet"
}

TEST(EventWaiter, PendingWaitsEndFalseWhenTheWaiterGoes) {
  std::future<bool> done;
  {
    EventWaiter waiter(20ms);
    done = Wait(waiter, Clock::now() + 10s, [] { return false; });
  }
  EXPECT_FALSE(done.get());
}

}  // namespace
}  // namespace csms::control
