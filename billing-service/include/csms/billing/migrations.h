#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "csms/common/pg.h"

namespace csms::billing {

// Brings the billing tables up to date (versioned; append new versions, never edit applied
// ones). Safe to run twice and from replicas at once. Returns the number of versions applied.
int ApplyMigrations(pqxx::connection& conn);

// Every version, oldest first; tests apply a prefix to check upgrades of existing data.
const std::vector<pg::Migration>& BillingMigrations();

}  // namespace csms::billing
