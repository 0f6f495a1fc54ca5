#include "pg_test_db.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <pqxx/pqxx>
#include <random>

namespace csms::testing {

bool DatabaseRequired() {
  const char* v = std::getenv("CSMS_REQUIRE_PG");
  return v != nullptr && std::string(v) == "1";
}

TestDatabase::TestDatabase() {
  if (std::getenv("PGHOST") == nullptr) return;
  static std::atomic<int> counter{0};
  std::random_device rd;
  name_ = "csms_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(rd() % 100000);
  pqxx::connection admin("");
  pqxx::nontransaction txn(admin);
  txn.exec0("CREATE DATABASE " + txn.quote_name(name_));
  url_ = "dbname=" + name_;
}

TestDatabase::~TestDatabase() {
  if (url_.empty()) return;
  try {
    pqxx::connection admin("");
    pqxx::nontransaction txn(admin);
    txn.exec0("DROP DATABASE IF EXISTS " + txn.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The cluster is thrown away after the run anyway.
  }
}

}  // namespace csms::testing
