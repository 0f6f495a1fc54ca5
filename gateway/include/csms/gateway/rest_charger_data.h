#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "csms/control/v1/control.grpc.pb.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {

// Reads of what the CSMS keeps about a charger, one to one onto control's read methods (role
// read; the operator's key goes to control as metadata, as for commands):
//   GET /chargers/{id}/events?kind=&type=&since=&limit=&cursor=   the event log, newest first
//   GET /chargers/{id}/variables?component=&component_instance=&evse_id=&connector_id=
//       &variable=&variable_instance=&type=&q=&limit=&cursor=     the stored device model
//       (&live=true: the charger's GetVariables answer now, not paged; control wants operate)
//   GET /chargers/{id}/firmware?limit=                            firmware jobs, newest first
// Lists are paged: {"<items>":[...],"next_cursor":"…" or null on the last page}. Errors as the
// command routes give them (RestCommands::FromCommandStatus): 404 unknown_charger, 400
// bad_request for a bad parameter.
// A firmware job as the REST API shows it (GET and POST /chargers/{id}/firmware).
nlohmann::json FirmwareJobJson(const control::v1::FirmwareJob& job);

class RestChargerData {
 public:
  using Respond = std::function<void(HttpResponse)>;
  explicit RestChargerData(std::shared_ptr<grpc::Channel> control);

  // True when `parts` (the path split at '/') is one of these routes; then `respond` runs once.
  bool Handle(const HttpRequest& request, const std::vector<std::string>& parts,
              const std::string& query, Respond& respond);

 private:
  void ListEvents(const HttpRequest& http, const std::string& charger_id, const std::string& query,
                  Respond respond);

  void ListVariables(const HttpRequest& http, const std::string& charger_id,
                     const std::string& query, Respond respond);

  void ListFirmwareJobs(const HttpRequest& http, const std::string& charger_id,
                        const std::string& query, Respond respond);

  std::unique_ptr<control::v1::ControlService::Stub> control_;
};

}  // namespace csms::gateway
