#include "csms/billing/migrations.h"

#include "csms/common/pg.h"
#include "csms/embedded/billing_migrations.h"

namespace csms::billing {

const std::vector<pg::Migration>& BillingMigrations() {
  static const std::vector<pg::Migration> kMigrations =
      pg::MigrationsFromFiles(embedded::billing_migrations::Files());
  return kMigrations;
}

int ApplyMigrations(pqxx::connection& conn) {
  return pg::ApplyMigrations(conn, "billing", BillingMigrations());
}

}  // namespace csms::billing
