// Billing's schema migrations (billing-service/migrations/*.sql): an empty database, and one with
// the schema main had before migrations became .sql files (tests/billing/fixtures/).

#include "csms/billing/migrations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "csms/embedded/billing_test_fixtures.h"
#include "pg_schema_snapshot.h"
#include "pg_test_db.h"

namespace csms::billing {
namespace {

using csms::testing::HasColumn;
using csms::testing::MigrationRows;
using csms::testing::SchemaSnapshot;
using csms::testing::SnapshotDiff;
using csms::testing::TestDatabase;

constexpr const char* kService = "billing";

std::string Fixture(std::string_view name) {
  for (const auto& file : embedded::billing_test_fixtures::Files()) {
    if (file.name == name) return std::string(file.contents);
  }
  throw std::runtime_error("no fixture " + std::string(name));
}

int Migrate(const std::string& url) {
  pqxx::connection conn(url);
  return pg::ApplyMigrations(conn, kService, BillingMigrations());
}

// The versions released while migrations were C++ literals. Applied databases recorded these
// names; the files must keep them (and their numbers) forever.
TEST(BillingMigrationFilesTest, FilesKeepTheReleasedVersionsAndNames) {
  const auto& migrations = BillingMigrations();
  ASSERT_GE(migrations.size(), 2u);
  const std::vector<std::string> released = {"ledger, daily stats and raw transaction events",
                                             "clock-suspect timestamps and meter register resets"};
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    if (i < released.size()) {
      EXPECT_EQ(migrations[i].name, released[i]);
    }
  }
  EXPECT_NE(migrations[0].sql.find("CREATE TABLE charger_usage_log ("), std::string::npos);
  EXPECT_EQ(migrations[0].sql.find("-- migration:"), std::string::npos)
      << "the description line is not part of the SQL";
}

TEST(BillingMigrationFilesTest, MigratesAnEmptyDatabase) {
  TestDatabase db;
  CSMS_REQUIRE_DATABASE(db);
  const int latest = BillingMigrations().back().version;
  EXPECT_EQ(Migrate(db.url()), static_cast<int>(BillingMigrations().size()));
  EXPECT_EQ(Migrate(db.url()), 0);

  std::vector<std::string> expected_rows;
  for (const auto& m : BillingMigrations()) {
    expected_rows.push_back(std::to_string(m.version) + "|" + m.name);
  }
  EXPECT_EQ(MigrationRows(db.url(), kService), expected_rows);
  EXPECT_EQ(MigrationRows(db.url(), kService).size(), static_cast<size_t>(latest));

  for (const char* table : {"charger_usage_log", "daily_charger_stats", "transaction_events"}) {
    EXPECT_TRUE(HasColumn(db.url(), table)) << table;
  }
  EXPECT_TRUE(HasColumn(db.url(), "transaction_events", "clock_suspect"));
  EXPECT_TRUE(HasColumn(db.url(), "charger_usage_log", "clock_suspect"));
  EXPECT_TRUE(HasColumn(db.url(), "charger_usage_log", "meter_resets"));
  EXPECT_FALSE(HasColumn(db.url(), "no_such_table"));
  EXPECT_FALSE(HasColumn(db.url(), "charger_usage_log", "no_such_column"));

  // The schema works: one transaction per (charger, transaction id).
  pqxx::connection conn(db.url());
  pqxx::work txn(conn);
  txn.exec0("INSERT INTO charger_usage_log (charger_id, transaction_id) VALUES ('cp1', 'tx1')");
  txn.exec0("INSERT INTO charger_usage_log (charger_id, transaction_id) VALUES ('cp2', 'tx1')");
  EXPECT_THROW(
      txn.exec0("INSERT INTO charger_usage_log (charger_id, transaction_id) VALUES ('cp1', 'tx1')"),
      pqxx::unique_violation);
}

// A database created by main before this change (the frozen fixture: its SQL and bookkeeping
// rows) must be recognized as up to date: only versions newer than it are applied, the versions
// it has keep their rows, and it ends with exactly the schema of a database migrated from empty.
TEST(BillingMigrationFilesTest, UpgradesTheSchemaMainHadBeforeSqlFiles) {
  TestDatabase old_db;
  CSMS_REQUIRE_DATABASE(old_db);
  {
    pqxx::connection conn(old_db.url());
    pqxx::work txn(conn);
    txn.exec(Fixture("schema_before_sql_files.sql"));
    txn.commit();
  }
  const std::vector<std::string> frozen_rows = MigrationRows(old_db.url(), kService, true);
  const std::vector<std::string> frozen_schema = SchemaSnapshot(old_db.url());
  ASSERT_EQ(frozen_rows.size(), 2u) << "the fixture holds versions 1 and 2";

  const int pending = static_cast<int>(BillingMigrations().size()) - 2;
  ASSERT_GE(pending, 0);
  EXPECT_EQ(Migrate(old_db.url()), pending);
  EXPECT_EQ(Migrate(old_db.url()), 0);
  // Nothing re-applied: the fixture's rows are untouched (applied_at included).
  std::vector<std::string> rows = MigrationRows(old_db.url(), kService, true);
  rows.resize(std::min(rows.size(), frozen_rows.size()));
  EXPECT_EQ(rows, frozen_rows);
  if (pending == 0) {
    EXPECT_EQ(SnapshotDiff(frozen_schema, SchemaSnapshot(old_db.url())), "");
  }

  TestDatabase new_db;
  CSMS_REQUIRE_DATABASE(new_db);
  Migrate(new_db.url());
  const std::vector<std::string> schema = SchemaSnapshot(new_db.url());
  EXPECT_EQ(SnapshotDiff(SchemaSnapshot(old_db.url()), schema), "")
      << "- upgraded from the fixture only, + migrated from empty only";
  EXPECT_EQ(MigrationRows(old_db.url(), kService), MigrationRows(new_db.url(), kService));

  // The comparison has teeth: the snapshot sees every table, and one migration fewer differs.
  for (const char* line :
       {"relation charger_usage_log kind=r", "relation schema_migrations kind=r",
        "column charger_usage_log.meter_resets #28 integer not null default 0"}) {
    EXPECT_TRUE(std::find(schema.begin(), schema.end(), line) != schema.end()) << line;
  }
  TestDatabase short_db;
  CSMS_REQUIRE_DATABASE(short_db);
  {
    std::vector<pg::Migration> all_but_last = BillingMigrations();
    all_but_last.pop_back();
    pqxx::connection conn(short_db.url());
    pg::ApplyMigrations(conn, kService, all_but_last);
  }
  EXPECT_NE(SnapshotDiff(SchemaSnapshot(short_db.url()), schema), "");
}

}  // namespace
}  // namespace csms::billing
