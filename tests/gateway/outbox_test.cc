#include "csms/gateway/outbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace csms::gateway {
namespace {

using ocpp::v1::TransactionEvent;

TransactionEvent Event(const std::string& tx, int seq) {
  TransactionEvent e;
  e.set_charger_id("CP-1");
  e.set_transaction_id(tx);
  e.set_seq_no(seq);
  e.set_dedup_key("seq:" + std::to_string(seq));
  return e;
}

// A billing stand-in: fails while `down`, records what it was given in order.
struct FakeBilling {
  std::mutex mu;
  std::atomic<bool> down{true};
  std::vector<std::string> delivered;
  std::vector<std::string> reported;

  Outbox::Deliver Deliver() {
    return [this](const TransactionEvent& e, billing::v1::RecordTransactionEventResponse*) {
      if (down) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
      std::lock_guard lock(mu);
      delivered.push_back(e.transaction_id() + "/" + std::to_string(e.seq_no()));
      return grpc::Status::OK;
    };
  }
  Outbox::Delivered Delivered() {
    return [this](const TransactionEvent& e, const billing::v1::RecordTransactionEventResponse&) {
      std::lock_guard lock(mu);
      reported.push_back(e.transaction_id() + "/" + std::to_string(e.seq_no()));
    };
  }
  std::vector<std::string> Delivered_() {
    std::lock_guard lock(mu);
    return delivered;
  }
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("csms-outbox-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static ::testing::AssertionResult Opened(Outbox& outbox) {
    std::string error;
    if (outbox.Open(&error)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << error;
  }

  static bool AppendAndWait(Outbox& outbox, const TransactionEvent& e) {
    std::promise<bool> durable;
    outbox.Append(e, [&](bool ok) { durable.set_value(ok); });
    return durable.get_future().get();
  }

  std::filesystem::path dir_;
};

TEST_F(OutboxTest, EventsAreDurableThenReplayedInOrderWhenBillingReturns) {
  FakeBilling billing;
  Outbox outbox(dir_, billing.Deliver(), billing.Delivered());
  ASSERT_TRUE(Opened(outbox));
  outbox.Start();
  EXPECT_FALSE(outbox.HasBacklog());
  ASSERT_TRUE(AppendAndWait(outbox, Event("tx1", 0)));
  ASSERT_TRUE(AppendAndWait(outbox, Event("tx1", 1)));
  ASSERT_TRUE(AppendAndWait(outbox, Event("tx2", 0)));
  EXPECT_TRUE(outbox.HasBacklog());
  EXPECT_EQ(outbox.depth(), 3u);
  EXPECT_GT(std::filesystem::file_size(dir_ / "transaction-events.log"), 0u);

  billing.down = false;
  ASSERT_TRUE(outbox.WaitUntilEmpty(std::chrono::seconds(10)));
  EXPECT_EQ(billing.Delivered_(), (std::vector<std::string>{"tx1/0", "tx1/1", "tx2/0"}));
  EXPECT_EQ(billing.reported.size(), 3u);
  EXPECT_FALSE(outbox.HasBacklog());
  // Drained: the journal starts afresh.
  EXPECT_EQ(std::filesystem::file_size(dir_ / "transaction-events.log"), 0u);
}

TEST_F(OutboxTest, WhatWasNotDeliveredSurvivesARestart) {
  {
    FakeBilling billing;
    Outbox outbox(dir_, billing.Deliver(), billing.Delivered());
    ASSERT_TRUE(Opened(outbox));
    outbox.Start();
    ASSERT_TRUE(AppendAndWait(outbox, Event("tx1", 0)));
    ASSERT_TRUE(AppendAndWait(outbox, Event("tx1", 1)));
    outbox.Stop();  // billing never came back in this run
  }
  FakeBilling billing;
  billing.down = false;
  Outbox outbox(dir_, billing.Deliver(), billing.Delivered());
  ASSERT_TRUE(Opened(outbox));
  EXPECT_EQ(outbox.depth(), 2u);
  outbox.Start();
  ASSERT_TRUE(outbox.WaitUntilEmpty(std::chrono::seconds(10)));
  EXPECT_EQ(billing.Delivered_(), (std::vector<std::string>{"tx1/0", "tx1/1"}));
}

TEST_F(OutboxTest, TornTailFromACrashIsCutAndWholeRecordsKept) {
  {
    FakeBilling billing;
    Outbox outbox(dir_, billing.Deliver(), billing.Delivered());
    ASSERT_TRUE(Opened(outbox));
    outbox.Start();
    ASSERT_TRUE(AppendAndWait(outbox, Event("tx1", 0)));
    outbox.Stop();
  }
  // A crash in the middle of the next write leaves half a record.
  {
    std::ofstream out(dir_ / "transaction-events.log", std::ios::app | std::ios::binary);
    out.write("\x40\x00\x00\x00\x12\x34", 6);
  }
  FakeBilling billing;
  billing.down = false;
  Outbox outbox(dir_, billing.Deliver(), billing.Delivered());
  ASSERT_TRUE(Opened(outbox));
  EXPECT_EQ(outbox.depth(), 1u);
  outbox.Start();
  ASSERT_TRUE(outbox.WaitUntilEmpty(std::chrono::seconds(10)));
  EXPECT_EQ(billing.Delivered_(), (std::vector<std::string>{"tx1/0"}));
}

TEST_F(OutboxTest, DeliveredPrefixIsNotReplayedAfterRestart) {
  FakeBilling first;
  {
    Outbox outbox(dir_, first.Deliver(), first.Delivered());
    ASSERT_TRUE(Opened(outbox));
    outbox.Start();
    first.down = false;
    ASSERT_TRUE(AppendAndWait(outbox, Event("tx1", 0)));
    ASSERT_TRUE(outbox.WaitUntilEmpty(std::chrono::seconds(10)));
    first.down = true;
    ASSERT_TRUE(AppendAndWait(outbox, Event("tx1", 1)));
    outbox.Stop();
  }
  FakeBilling second;
  second.down = false;
  Outbox outbox(dir_, second.Deliver(), second.Delivered());
  ASSERT_TRUE(Opened(outbox));
  outbox.Start();
  ASSERT_TRUE(outbox.WaitUntilEmpty(std::chrono::seconds(10)));
  EXPECT_EQ(second.Delivered_(), (std::vector<std::string>{"tx1/1"}));
}

TEST_F(OutboxTest, ManyConcurrentAppendsAreAllDurableAndOrderedPerWriter) {
  FakeBilling billing;
  Outbox outbox(dir_, billing.Deliver(), billing.Delivered());
  ASSERT_TRUE(Opened(outbox));
  outbox.Start();
  std::vector<std::thread> writers;
  std::atomic<int> durable{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        if (AppendAndWait(outbox, Event("tx" + std::to_string(w), i))) ++durable;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(durable.load(), 200);
  billing.down = false;
  ASSERT_TRUE(outbox.WaitUntilEmpty(std::chrono::seconds(20)));
  auto delivered = billing.Delivered_();
  ASSERT_EQ(delivered.size(), 200u);
  std::map<std::string, int> last;
  for (const auto& d : delivered) {
    auto slash = d.find('/');
    std::string tx = d.substr(0, slash);
    int seq = std::stoi(d.substr(slash + 1));
    if (last.count(tx)) EXPECT_EQ(seq, last[tx] + 1) << d;
    last[tx] = seq;
  }
}

}  // namespace
}  // namespace csms::gateway
