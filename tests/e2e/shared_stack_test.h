#pragma once

#include <gtest/gtest.h>

#include "pg_test_db.h"
#include "stack.h"

namespace csms::testing {

// A suite whose tests share one stack: a database of their own and the real service processes,
// started once before the first test and stopped (with SIGTERM, which must end every service
// cleanly) after the last. A suite derives from SharedStackTest<itself> and defines
//   static void Configure(Stack::Options& options);
// to name the stack and pass its flags; the database URL is filled in already.
template <typename Suite>
class SharedStackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    if (!db_->available()) return;
    Stack::Options options;
    options.database_url = db_->url();
    Suite::Configure(options);
    stack_ = new Stack(options);
    started_ = stack_->Start();
  }

  static void TearDownTestSuite() {
    if (stack_ != nullptr) {
      for (const auto& [name, code] : stack_->Stop()) {
        EXPECT_EQ(code, 0) << name << " did not stop cleanly on SIGTERM";
      }
      delete stack_;
      stack_ = nullptr;
    }
    delete db_;
    db_ = nullptr;
    started_ = false;
  }

  void SetUp() override {
    CSMS_REQUIRE_DATABASE(*db_);
    ASSERT_TRUE(started_) << "stack did not start; logs:\n" << stack_->Logs();
  }

  static inline TestDatabase* db_ = nullptr;
  static inline Stack* stack_ = nullptr;
  static inline bool started_ = false;
};

}  // namespace csms::testing
