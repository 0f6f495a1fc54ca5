#pragma once

#include <gtest/gtest.h>

#include <string>

namespace csms::testing {

// A fresh, empty database on the PostgreSQL that the test run started (pg_virtualenv -t exports
// PGHOST and friends). Dropped when the object goes away.
//
// Without PGHOST the test is skipped, unless CSMS_REQUIRE_PG=1 (set by the README's test
// command and CI), where a missing database is a failure: a database test must not pass by
// silently not running.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  bool available() const { return !url_.empty(); }
  // libpq connection string for the fresh database.
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string url_;
};

// Call at the top of a test: skips (or fails under CSMS_REQUIRE_PG=1) without a database.
#define CSMS_REQUIRE_DATABASE(db)                                                              \
  do {                                                                                         \
    if (!(db).available()) {                                                                   \
      if (::csms::testing::DatabaseRequired()) FAIL() << "PostgreSQL required (PGHOST unset)"; \
      GTEST_SKIP() << "no PostgreSQL (PGHOST unset)";                                          \
    }                                                                                          \
  } while (0)

bool DatabaseRequired();

}  // namespace csms::testing
