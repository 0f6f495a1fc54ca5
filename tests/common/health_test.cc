#include "csms/common/health.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace csms {
namespace {

using std::chrono::milliseconds;

// Waits until `pred` holds (or two seconds pass).
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 200; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

TEST(HealthWatcherTest, ReportsFirstOutcomeThenOnlyChanges) {
  std::atomic<bool> up{true};
  std::atomic<int> probes{0};
  std::mutex mu;
  std::vector<bool> applied;
  HealthWatcher watcher(
      "database",
      [&](std::string* error) {
        ++probes;
        if (!up) *error = "connection refused";
        return up.load();
      },
      [&](bool healthy) {
        std::lock_guard lock(mu);
        applied.push_back(healthy);
      },
      milliseconds(10), "test");
  ASSERT_TRUE(Eventually([&] { return probes >= 3; }));
  EXPECT_TRUE(watcher.healthy());
  up = false;
  ASSERT_TRUE(Eventually([&] { return !watcher.healthy(); }));
  EXPECT_EQ(watcher.last_error(), "connection refused");
  const int at = probes;
  ASSERT_TRUE(Eventually([&] { return probes >= at + 3; }));
  up = true;
  ASSERT_TRUE(Eventually([&] { return watcher.healthy(); }));
  watcher.Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(applied, (std::vector<bool>{true, false, true}));
}

TEST(HealthWatcherTest, ProbeThatThrowsCountsAsDown) {
  std::atomic<int> applied_down{0};
  HealthWatcher watcher(
      "database", [](std::string*) -> bool { throw std::runtime_error("boom"); },
      [&](bool healthy) {
        if (!healthy) ++applied_down;
      },
      milliseconds(10), "test");
  ASSERT_TRUE(Eventually([&] { return applied_down == 1; }));
  EXPECT_EQ(watcher.last_error(), "boom");
}

TEST(HealthWatcherTest, PostgresProbeFailsFastOnAClosedPort) {
  // Nothing listens on port 1; the probe must fail, not hang.
  auto probe = PostgresProbe("postgresql://nobody@127.0.0.1:1/none", std::chrono::seconds(1));
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(probe(&error));
  EXPECT_FALSE(error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(HealthWatcherTest, AddsTimeoutsToEitherConnectionStringForm) {
  EXPECT_EQ(WithConnectTimeouts("postgresql://u@h/db", std::chrono::seconds(2)),
            "postgresql://u@h/db?connect_timeout=2&tcp_user_timeout=2000");
  EXPECT_EQ(WithConnectTimeouts("postgres://h/db?sslmode=disable", std::chrono::seconds(2)),
            "postgres://h/db?sslmode=disable&connect_timeout=2&tcp_user_timeout=2000");
  EXPECT_EQ(WithConnectTimeouts("host=h dbname=x", std::chrono::seconds(3)),
            "host=h dbname=x connect_timeout=3 tcp_user_timeout=3000");
  EXPECT_EQ(WithConnectTimeouts("", std::chrono::seconds(2)),
            "connect_timeout=2 tcp_user_timeout=2000");
  EXPECT_EQ(WithConnectTimeouts("host=h connect_timeout=9", std::chrono::seconds(2)),
            "host=h connect_timeout=9 tcp_user_timeout=2000");
}

}  // namespace
}  // namespace csms
