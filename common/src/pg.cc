#include "csms/common/pg.h"

#include <chrono>
#include <thread>

#include "csms/common/log.h"

namespace csms::pg {
namespace {
// Any fixed key works; it only has to be the same for every CSMS service.
constexpr long long kMigrationLockKey = 0x0c5a5eed;
}  // namespace

int ApplyMigrations(pqxx::connection& conn, const std::string& service,
                    const std::vector<Migration>& migrations) {
  pqxx::work txn(conn);
  txn.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")");
  txn.exec0(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " service text NOT NULL, version integer NOT NULL, name text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (service, version))");
  int current = txn.exec_params1(
                       "SELECT coalesce(max(version), 0) FROM schema_migrations "
                       "WHERE service = $1",
                       service)[0]
                    .as<int>();
  int applied = 0;
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    txn.exec0(m.sql);
    txn.exec_params0("INSERT INTO schema_migrations (service, version, name) VALUES ($1, $2, $3)",
                     service, m.version, m.name);
    ++applied;
  }
  txn.commit();
  return applied;
}

std::unique_ptr<pqxx::connection> ConnectWithRetry(const std::string& url,
                                                   const std::atomic<bool>& stop,
                                                   const char* component) {
  auto delay = std::chrono::milliseconds(250);
  while (!stop.load()) {
    try {
      return std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
      CSMS_LOG(kWarn, component) << "cannot reach PostgreSQL (" << log::Sanitize(e.what(), 200)
                                 << "); retrying in " << delay.count() << " ms";
    }
    for (auto waited = std::chrono::milliseconds(0); waited < delay && !stop.load();
         waited += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    delay = std::min(delay * 2, std::chrono::milliseconds(5000));
  }
  return nullptr;
}

Pool::Pool(std::string url, int size) : url_(std::move(url)) {
  auto& registry = metrics::Registry::Default();
  wait_seconds_ =
      &registry
           .AddHistogram("csms_db_pool_wait_seconds",
                         "Time waiting for a pooled PostgreSQL connection, seconds.", {})
           .Get();
  auto& runs = registry.AddHistogram(
      "csms_db_transaction_seconds",
      "Time a unit of database work held its connection (statements, commit and a reconnect "
      "retry), by outcome, seconds.",
      {"outcome"});
  run_ok_seconds_ = &runs.Labels({"ok"});
  run_error_seconds_ = &runs.Labels({"error"});
  for (int i = 0; i < size; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    free_.push_back(slots_.back().get());
  }
}

Pool::Slot* Pool::Borrow() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty(); });
  Slot* slot = free_.back();
  free_.pop_back();
  return slot;
}

void Pool::Return(Slot* slot) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(slot);
  }
  cv_.notify_one();
}

pqxx::connection& Pool::Ensure(Slot* slot) {
  if (!slot->conn || !slot->conn->is_open()) {
    try {
      slot->conn = std::make_unique<pqxx::connection>(url_);
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      throw pqxx::broken_connection(e.what());
    }
  }
  return *slot->conn;
}

}  // namespace csms::pg
