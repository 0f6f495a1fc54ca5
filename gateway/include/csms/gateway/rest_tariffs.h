#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "csms/billing/v1/billing.grpc.pb.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/gateway/rest_api.h"
#include "csms/gateway/rest_request.h"

namespace csms::gateway {

// Tariffs, one to one onto billing's tariff methods (billing.proto). Reads need the read role;
// writes need admin (they set what drivers pay), checked here on top of the HTTP front's
// operate:
//   GET    /tariffs                      {"tariffs":[newest version of each],"next_cursor":null}
//   GET    /tariffs/{id}?version=N       {"tariff":{...}} (the newest without ?version)
//   GET    /tariffs/{id}/versions        {"tariffs":[every version],"next_cursor":null}
//   PUT    /tariffs/{id}                 stores a new version: 201 {"status":"success",
//                                        "tariff":{...with version and created_at}}
//   GET    /stations/{id}/tariff         {"station_tariff":{"station_id","tariff_id","updated_at"}}
//   PUT    /stations/{id}/tariff         {"tariff_id"} (the station must exist in control):
//                                        200 {"status":"success","station_tariff":{...}}
//   DELETE /stations/{id}/tariff         back to "default": 200 as PUT
// A station's tariff_id is null when it uses "default".
nlohmann::json TariffJson(const billing::v1::Tariff& tariff);
nlohmann::json StationTariffJson(const billing::v1::StationTariff& station_tariff);

// The PUT body: the Tariff's fields by their proto names (valid_from as RFC 3339), each optional
// (null is absent; min_price / max_price null: no bound), periods [{"weekdays","start_time",
// "end_time","energy_price_per_kwh","charging_price_per_minute"}]. Unknown fields and wrong
// types are refused naming the field; values are checked by billing. tariff_id, when given,
// must be `tariff_id`; version and created_at are ignored, so a GET answer can be PUT back.
std::variant<billing::v1::Tariff, RestError> ParseTariffBody(const std::string& tariff_id,
                                                             const std::string& body);

class RestTariffs {
 public:
  using Respond = std::function<void(HttpResponse)>;
  RestTariffs(std::shared_ptr<grpc::Channel> control, std::shared_ptr<grpc::Channel> billing);

  // True when `parts` (the path split at '/') is one of these routes; then `respond` runs once.
  bool Handle(const HttpRequest& request, const std::vector<std::string>& parts,
              const std::string& query, Respond& respond);

 private:
  void Put(const HttpRequest& http, const std::string& tariff_id, Respond respond);
  void Get(const HttpRequest& http, const std::string& tariff_id, const std::string& query,
           Respond respond);
  // tariff_id "": the newest version of every tariff; else every version of that one.
  void List(const HttpRequest& http, const std::string& tariff_id, Respond respond);
  void GetStationTariff(const HttpRequest& http, const std::string& station_id, Respond respond);
  // tariff_id "": back to "default".
  void SetStationTariff(const HttpRequest& http, const std::string& station_id,
                        const std::string& tariff_id, Respond respond);

  std::unique_ptr<control::v1::ControlService::Stub> control_;
  std::unique_ptr<billing::v1::BillingService::Stub> billing_;
};

}  // namespace csms::gateway
