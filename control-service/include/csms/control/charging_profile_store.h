#pragma once

#include <string>

#include "csms/common/pg.h"

namespace csms::control {

// Table charging_profiles: every profile sent to a charger and its answer.
class ChargingProfileStore {
 public:
  explicit ChargingProfileStore(pg::Pool& pool) : pool_(pool) {}

  // Stores a profile sent to the charger; `in_force` also makes its limit the charger's.
  void Record(const std::string& charger_id, int profile_id, int evse_id,
              const std::string& purpose, double limit_w, const std::string& status, bool in_force);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
