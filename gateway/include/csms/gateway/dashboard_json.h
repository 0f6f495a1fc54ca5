#pragma once

#include <nlohmann/json.hpp>

#include "csms/control/v1/control.pb.h"

// JSON of stations and of the dashboard's richer charger view (REST and the live feed).
namespace csms::gateway {

// {"station_id","name","address","latitude","longitude","charger_ids":[...]}.
nlohmann::json StationJson(const control::v1::Station& station);

// The seed's charger fields (GET /chargers/{id}) plus what the dashboard shows: station_id,
// last_seen (RFC 3339 or null), charging_limit (kW or null), vendor, model,
// registration_status and connectors [{"evse_id","connector_id","status"}].
nlohmann::json LiveChargerJson(const control::v1::Charger& charger);

}  // namespace csms::gateway
