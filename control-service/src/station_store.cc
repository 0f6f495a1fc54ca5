#include "csms/control/station_store.h"

#include <charconv>
#include <map>
#include <pqxx/pqxx>

#include "csms/common/pg_sql.h"

namespace csms::control {
namespace {

StationRecord ReadStation(const pqxx::row& row) {
  StationRecord s;
  s.station_id = row["station_id"].as<std::string>();
  s.name = row["name"].as<std::string>();
  s.address = row["address"].as<std::string>();
  s.latitude = row["latitude"].as<double>();
  s.longitude = row["longitude"].as<double>();
  return s;
}

const char* const kStationColumns = "station_id, name, address, latitude, longitude";

std::optional<StationRecord> LoadStation(pqxx::transaction_base& txn,
                                         const std::string& station_id) {
  pqxx::result rows = txn.exec_params(
      std::string("SELECT ") + kStationColumns + " FROM stations WHERE station_id = $1",
      station_id);
  if (rows.empty()) return std::nullopt;
  StationRecord station = ReadStation(rows[0]);
  for (const auto& row : txn.exec_params(
           "SELECT charger_id FROM station_chargers WHERE station_id = $1 ORDER BY charger_id",
           station_id)) {
    station.charger_ids.push_back(row[0].as<std::string>());
  }
  return station;
}

// Places `charger_ids` at the station. A charger already at another station is a conflict
// (moving one is AssignCharger's job, so a typo in a list cannot steal a charger).
void AddChargers(pqxx::work& txn, const std::string& station_id,
                 const std::vector<std::string>& charger_ids) {
  if (charger_ids.empty()) return;
  const std::string ids = pg::TextArray(charger_ids);
  txn.exec_params0(
      "INSERT INTO station_chargers (charger_id, station_id)"
      " SELECT id, $2 FROM unnest($1::text[]) AS u (id) ORDER BY id ON CONFLICT DO NOTHING",
      ids, station_id);
  pqxx::result taken = txn.exec_params(
      "SELECT charger_id, station_id FROM station_chargers"
      " WHERE charger_id = ANY($1::text[]) AND station_id <> $2 ORDER BY charger_id LIMIT 1",
      ids, station_id);
  if (!taken.empty()) {
    throw StoreError(StoreError::Kind::kConflict, "charger " + taken[0][0].as<std::string>() +
                                                      " belongs to station " +
                                                      taken[0][1].as<std::string>());
  }
}

}  // namespace

std::vector<StationRecord> StationStore::List() {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn);
    std::vector<StationRecord> stations;
    std::map<std::string, size_t> index;
    for (const auto& row : txn.exec(std::string("SELECT ") + kStationColumns +
                                    " FROM stations ORDER BY station_id")) {
      index[row["station_id"].as<std::string>()] = stations.size();
      stations.push_back(ReadStation(row));
    }
    for (const auto& row : txn.exec("SELECT station_id, charger_id FROM station_chargers ORDER BY "
                                    "station_id, charger_id")) {
      auto it = index.find(row[0].as<std::string>());
      if (it != index.end()) stations[it->second].charger_ids.push_back(row[1].as<std::string>());
    }
    return stations;
  });
}

std::optional<StationRecord> StationStore::Find(const std::string& station_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return LoadStation(txn, station_id);
  });
}

StationRecord StationStore::Create(const StationRecord& station) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    pqxx::result inserted = txn.exec_params(
        "INSERT INTO stations (station_id, name, address, latitude, longitude)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING station_id",
        station.station_id, station.name, station.address, station.latitude, station.longitude);
    if (inserted.empty()) {
      throw StoreError(StoreError::Kind::kConflict,
                       "station " + station.station_id + " already exists");
    }
    AddChargers(txn, station.station_id, station.charger_ids);
    return *LoadStation(txn, station.station_id);
  });
}

StationRecord StationStore::Update(const std::string& station_id, const StationChanges& changes) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    // A NULL parameter keeps the column as it is (libpqxx 6 binds a null char pointer as NULL).
    auto text_or_null = [](const std::optional<std::string>& v) -> const char* {
      return v ? v->c_str() : nullptr;
    };
    auto number = [](const std::optional<double>& v) -> std::optional<std::string> {
      if (!v) return std::nullopt;
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *v);
      return std::string(buf, end);
    };
    const auto latitude = number(changes.latitude), longitude = number(changes.longitude);
    pqxx::result updated = txn.exec_params(
        "UPDATE stations SET name = coalesce($2, name), address = coalesce($3, address),"
        " latitude = coalesce($4::float8, latitude), longitude = coalesce($5::float8, longitude),"
        " updated_at = now() WHERE station_id = $1 RETURNING station_id",
        station_id, text_or_null(changes.name), text_or_null(changes.address),
        text_or_null(latitude), text_or_null(longitude));
    if (updated.empty()) {
      throw StoreError(StoreError::Kind::kNotFound, "station " + station_id + " not found");
    }
    if (changes.charger_ids) {
      txn.exec_params0(
          "DELETE FROM station_chargers WHERE station_id = $1 AND NOT charger_id = ANY($2::text[])",
          station_id, pg::TextArray(*changes.charger_ids));
      AddChargers(txn, station_id, *changes.charger_ids);
    }
    return *LoadStation(txn, station_id);
  });
}

bool StationStore::Delete(const std::string& station_id) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    return !txn.exec_params("DELETE FROM stations WHERE station_id = $1 RETURNING station_id",
                            station_id)
                .empty();
  });
}

std::string StationStore::StationOf(const std::string& charger_id) {
  return pool_.Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    auto rows = txn.exec_params("SELECT station_id FROM station_chargers WHERE charger_id = $1",
                                charger_id);
    return rows.empty() ? std::string() : rows[0][0].as<std::string>();
  });
}

std::string StationStore::AssignCharger(const std::string& charger_id,
                                        const std::string& station_id) {
  return pg::Transact(pool_, [&](pqxx::work& txn) {
    pqxx::result previous = txn.exec_params(
        "SELECT station_id FROM station_chargers WHERE charger_id = $1 FOR UPDATE", charger_id);
    std::string previous_station = previous.empty() ? "" : previous[0][0].as<std::string>();
    if (station_id.empty()) {
      txn.exec_params0("DELETE FROM station_chargers WHERE charger_id = $1", charger_id);
      return previous_station;
    }
    // FOR SHARE keeps the station from being deleted before this commits.
    if (txn.exec_params("SELECT 1 FROM stations WHERE station_id = $1 FOR SHARE", station_id)
            .empty()) {
      throw StoreError(StoreError::Kind::kNotFound, "station " + station_id + " not found");
    }
    txn.exec_params0(
        "INSERT INTO station_chargers (charger_id, station_id) VALUES ($1, $2)"
        " ON CONFLICT (charger_id) DO UPDATE SET station_id = EXCLUDED.station_id,"
        " assigned_at = now()",
        charger_id, station_id);
    return previous_station;
  });
}

}  // namespace csms::control
