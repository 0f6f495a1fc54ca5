#include "csms/control/charging_profile_store.h"

#include "csms/common/pg_sql.h"

namespace csms::control {

void ChargingProfileStore::Record(const std::string& charger_id, int profile_id, int evse_id,
                                  const std::string& purpose, double limit_w,
                                  const std::string& status, bool in_force) {
  pg::Transact(pool_, [&](pqxx::work& txn) {
    txn.exec_params0(
        "INSERT INTO charging_profiles (charger_id, profile_id, evse_id, purpose, limit_w, status)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        charger_id, profile_id, evse_id, purpose, limit_w, status);
    if (in_force) {
      txn.exec_params0(
          "UPDATE chargers SET charging_limit_w = $2, updated_at = now() WHERE charger_id = $1",
          charger_id, limit_w);
    }
  });
}

}  // namespace csms::control
