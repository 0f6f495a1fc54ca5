#pragma once

#include <vector>

#include "csms/common/pg.h"

namespace csms::control {

// Every version of the control schema, oldest first: control-service/migrations/NNNN_*.sql,
// embedded at build time (format: pg::MigrationsFromFiles). Apply with
// pg::ApplyMigrations(conn, "control", ControlMigrations()). Append new files, never edit
// released ones; tests apply a prefix to check upgrades of existing data.
const std::vector<pg::Migration>& ControlMigrations();

}  // namespace csms::control
