#include "csms/control/migrations.h"

#include "csms/embedded/control_migrations.h"

namespace csms::control {

const std::vector<pg::Migration>& ControlMigrations() {
  static const std::vector<pg::Migration> kMigrations =
      pg::MigrationsFromFiles(embedded::control_migrations::Files());
  return kMigrations;
}

}  // namespace csms::control
