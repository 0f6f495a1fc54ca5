#pragma once

#include <pqxx/pqxx>

namespace csms::billing {

// Brings the billing tables up to date (versioned; append new versions, never edit applied
// ones). Safe to run twice and from replicas at once. Returns the number of versions applied.
int ApplyMigrations(pqxx::connection& conn);

}  // namespace csms::billing
