#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "csms/common/metrics.h"

namespace csms::pg {

// One versioned schema step. Versions are applied in order, once, per service.
struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// Applies the service's pending migrations in one transaction under a database-wide advisory
// lock, so running it twice or from two replicas at once is safe.
// Returns the number of migrations applied.
int ApplyMigrations(pqxx::connection& conn, const std::string& service,
                    const std::vector<Migration>& migrations);

// Opens a connection, retrying with backoff (and saying so on stderr) until it succeeds or
// `stop` becomes true. Returns nullptr only when stopped.
std::unique_ptr<pqxx::connection> ConnectWithRetry(const std::string& url,
                                                   const std::atomic<bool>& stop,
                                                   const char* component);

// A fixed-size pool of connections. pqxx connections are not thread-safe; each request borrows
// one. A connection found broken is reopened on its next use.
class Pool {
 public:
  Pool(std::string url, int size);

  // Runs fn with a borrowed connection. On a broken connection it reconnects and retries once;
  // if the database stays unreachable it throws pqxx::broken_connection.
  template <typename Fn>
  auto Run(Fn&& fn) -> decltype(fn(std::declval<pqxx::connection&>()));

  const std::string& url() const { return url_; }

 private:
  struct Slot {
    std::unique_ptr<pqxx::connection> conn;
  };
  Slot* Borrow();
  void Return(Slot* slot);
  pqxx::connection& Ensure(Slot* slot);

  std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_;
  // csms_db_pool_wait_seconds and csms_db_transaction_seconds{outcome} (one Run, retry included).
  metrics::Histogram* wait_seconds_;
  metrics::Histogram* run_ok_seconds_;
  metrics::Histogram* run_error_seconds_;
};

template <typename Fn>
auto Pool::Run(Fn&& fn) -> decltype(fn(std::declval<pqxx::connection&>())) {
  const auto requested = std::chrono::steady_clock::now();
  Slot* slot = Borrow();
  const auto borrowed = std::chrono::steady_clock::now();
  wait_seconds_->Observe(std::chrono::duration<double>(borrowed - requested).count());
  struct Returner {
    Pool* pool;
    Slot* slot;
    std::chrono::steady_clock::time_point borrowed;
    int exceptions;
    ~Returner() {
      // Unwinding because fn (or the reconnect) threw: the run counts as failed.
      (std::uncaught_exceptions() > exceptions ? pool->run_error_seconds_ : pool->run_ok_seconds_)
          ->ObserveSince(borrowed);
      pool->Return(slot);
    }
  } returner{this, slot, borrowed, std::uncaught_exceptions()};
  for (int attempt = 0;; ++attempt) {
    try {
      return fn(Ensure(slot));
    } catch (const pqxx::broken_connection&) {
      slot->conn.reset();
      if (attempt >= 1) throw;
    }
  }
}

}  // namespace csms::pg
