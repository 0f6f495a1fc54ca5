#include "csms/common/pg.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "csms/common/log.h"

namespace csms::pg {
namespace {
// Any fixed key works; it only has to be the same for every CSMS service.
constexpr long long kMigrationLockKey = 0x0c5a5eed;

constexpr std::string_view kDescriptionPrefix = "-- migration:";

[[noreturn]] void BadFile(std::string_view file, const std::string& why) {
  throw std::invalid_argument("migration file " + std::string(file) + ": " + why);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSlugChar(char c) { return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '_'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Migration ParseMigrationFile(const MigrationFile& file) {
  const std::string_view name = file.name;
  // NNNN_<slug>.sql
  constexpr std::string_view kExtension = ".sql";
  if (name.size() < 4 + 1 + 1 + kExtension.size() ||
      !std::all_of(name.begin(), name.begin() + 4, IsDigit) || name[4] != '_' ||
      !name.ends_with(kExtension) ||
      !std::all_of(name.begin() + 5, name.end() - kExtension.size(), IsSlugChar)) {
    BadFile(name, "name must be NNNN_<slug>.sql (four digits, then [a-z0-9_]+)");
  }
  const int version = std::stoi(std::string(name.substr(0, 4)));
  if (version == 0) BadFile(name, "versions start at 0001");

  const std::string_view contents = file.contents;
  const size_t eol = contents.find('\n');
  std::string_view first_line = contents.substr(0, eol);
  if (first_line.ends_with('\r')) first_line.remove_suffix(1);
  if (!first_line.starts_with(kDescriptionPrefix)) {
    BadFile(name, "first line must be \"" + std::string(kDescriptionPrefix) + " <description>\"");
  }
  std::string_view description = first_line.substr(kDescriptionPrefix.size());
  while (!description.empty() && IsSpace(description.back())) description.remove_suffix(1);
  while (!description.empty() && IsSpace(description.front())) description.remove_prefix(1);
  if (description.empty()) BadFile(name, "empty description");

  const std::string_view sql =
      eol == std::string_view::npos ? std::string_view() : contents.substr(eol + 1);
  if (std::all_of(sql.begin(), sql.end(), IsSpace)) BadFile(name, "no SQL after the first line");
  return {version, std::string(description), std::string(sql)};
}
}  // namespace

std::vector<Migration> MigrationsFromFiles(std::span<const MigrationFile> files) {
  struct Parsed {
    Migration migration;
    std::string_view file;
  };
  std::vector<Parsed> parsed;
  parsed.reserve(files.size());
  for (const MigrationFile& file : files) parsed.push_back({ParseMigrationFile(file), file.name});
  std::stable_sort(parsed.begin(), parsed.end(), [](const Parsed& a, const Parsed& b) {
    return a.migration.version < b.migration.version;
  });
  std::vector<Migration> migrations;
  migrations.reserve(parsed.size());
  for (size_t i = 0; i < parsed.size(); ++i) {
    const int version = parsed[i].migration.version;
    if (i > 0 && version == parsed[i - 1].migration.version) {
      BadFile(parsed[i].file, "version " + std::to_string(version) + " is also that of " +
                                  std::string(parsed[i - 1].file));
    }
    const int expected = static_cast<int>(i) + 1;
    if (version != expected) {
      BadFile(parsed[i].file, "version " + std::to_string(expected) +
                                  " is missing (versions must be contiguous from 0001)");
    }
    migrations.push_back(std::move(parsed[i].migration));
  }
  return migrations;
}

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

Pool::Pool(std::string url, int size, SessionSettings settings)
    : url_(std::move(url)), settings_(std::move(settings)) {
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
      for (const auto& [name, value] : settings_) slot->conn->set_variable(name, value);
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      throw pqxx::broken_connection(e.what());
    }
  }
  return *slot->conn;
}

}  // namespace csms::pg
