#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "csms/control/v1/control.grpc.pb.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {

// The command routes of the REST API, one to one onto control's command methods:
//   POST /chargers/{id}/ocpp/{Action}   the generic endpoint (body: the OCPP payload)
//   POST /chargers/{id}/reset | availability | unlock | trigger | clear-cache | get-variables |
//        set-variables | transaction-status | data-transfer | reports | firmware
//        (typed, snake_case bodies; firmware: UpdateFirmware, admin role checked by control)
//   GET  /chargers/{id}/commands?limit=&cursor=                the command log
// Answers {"status":"success","response":{...}}; errors {"status":"error","error","message"}
// with the codes of DESIGN.md (and "ocpp_error" for a charger's CALLERROR). The operator's key
// goes to control as metadata, so the command log names who asked.
class RestCommands {
 public:
  using Respond = std::function<void(HttpResponse)>;
  explicit RestCommands(std::shared_ptr<grpc::Channel> control);

  // True when `parts` (the path split at '/') is one of these routes; then `respond` runs once.
  bool Handle(const HttpRequest& request, const std::vector<std::string>& parts,
              const std::string& query, Respond& respond);

  // The HTTP answer for a failed command call (status details carry the error code).
  // A status without the REST code in its details maps by its gRPC code; NOT_FOUND to
  // `not_found` (what a missing thing is called on the caller's routes).
  static HttpResponse FromCommandStatus(const grpc::Status& status,
                                        const std::string& not_found = "not_found");
  // The gRPC metadata naming the operator's key and role to control (none in open mode).
  static std::vector<std::pair<std::string, std::string>> OnBehalfOf(const HttpRequest& http);

 private:
  template <typename Request, typename Response, typename Start>
  void Typed(const HttpRequest& http, const std::string& charger_id, Start start, Respond respond);
  void SendOcppCall(const HttpRequest& http, const std::string& charger_id,
                    const std::string& action, Respond respond);
  void ListCommands(const HttpRequest& http, const std::string& charger_id,
                    const std::string& query, Respond respond);

  std::unique_ptr<control::v1::ControlService::Stub> control_;
};

}  // namespace csms::gateway
