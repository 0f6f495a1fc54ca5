#pragma once

#include <optional>
#include <string>
#include <vector>

#include "csms/common/pg.h"
#include "csms/control/store_error.h"

namespace csms::control {

// A site: where chargers stand (tables stations, station_chargers).
struct StationRecord {
  std::string station_id, name, address;
  double latitude = 0, longitude = 0;
  std::vector<std::string> charger_ids;  // sorted
};

// What Update changes; unset fields stay as they are.
struct StationChanges {
  std::optional<std::string> name, address;
  std::optional<double> latitude, longitude;
  std::optional<std::vector<std::string>> charger_ids;  // replaces the station's chargers
};

// Writes throw StoreError: kNotFound for an unknown station, kConflict for a taken station id or
// a charger that belongs to another station.
class StationStore {
 public:
  explicit StationStore(pg::Pool& pool) : pool_(pool) {}

  std::vector<StationRecord> List();
  std::optional<StationRecord> Find(const std::string& station_id);
  StationRecord Create(const StationRecord& station);
  StationRecord Update(const std::string& station_id, const StationChanges& changes);
  // False when there was no such station. Its chargers are left without a station.
  bool Delete(const std::string& station_id);
  // Moves the charger to `station_id` ("" = off any station); returns its previous station.
  std::string AssignCharger(const std::string& charger_id, const std::string& station_id);
  // The station the charger belongs to, "" for none.
  std::string StationOf(const std::string& charger_id);

 private:
  pg::Pool& pool_;
};

}  // namespace csms::control
