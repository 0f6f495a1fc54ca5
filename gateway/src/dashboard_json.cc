#include "csms/gateway/dashboard_json.h"

#include <cmath>

#include "csms/common/time_util.h"

namespace csms::gateway {

using nlohmann::json;

namespace {
json Kilo(double value) { return std::round(value * 1000.0) / 1000.0; }
json StringOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
}  // namespace

json StationJson(const control::v1::Station& s) {
  return json{{"station_id", s.station_id()},
              {"name", s.name()},
              {"address", s.address()},
              {"latitude", s.latitude()},
              {"longitude", s.longitude()},
              {"charger_ids",
               json(std::vector<std::string>(s.charger_ids().begin(), s.charger_ids().end()))}};
}

json LiveChargerJson(const control::v1::Charger& c) {
  json connectors = json::array();
  for (const auto& connector : c.connectors()) {
    connectors.push_back(json{{"evse_id", connector.evse_id()},
                              {"connector_id", connector.connector_id()},
                              {"status", connector.status()}});
  }
  return json{
      {"charger_id", c.charger_id()},
      {"status", c.status()},
      {"current_power", Kilo(c.current_power_kw())},
      {"energy_accumulated", Kilo(c.energy_accumulated_kwh())},
      {"transaction_id", StringOrNull(c.transaction_id())},
      {"connected", c.connected()},
      {"station_id", StringOrNull(c.station_id())},
      {"last_seen",
       c.has_last_seen() ? json(FormatRfc3339(FromProto(c.last_seen()))) : json(nullptr)},
      {"charging_limit", c.has_charging_limit_kw() ? Kilo(c.charging_limit_kw()) : json(nullptr)},
      {"vendor", c.vendor()},
      {"model", c.model()},
      {"registration_status", c.registration_status()},
      {"security_profile", c.has_security_profile() ? json(c.security_profile()) : json(nullptr)},
      {"connectors", connectors}};
}

}  // namespace csms::gateway
