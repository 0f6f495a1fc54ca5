// P: data transfer. No vendor extensions are known to this CSMS (P01.FR.06: UnknownVendorId).
#include "csms/ocpp/v201/data_transfer.h"

#include "csms/gateway/ocpp201/blocks.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddDataTransferRoutes(RouteTable& routes, const BlockContext&) {
  routes.Add<v201::DataTransferRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "DataTransfer",
                    "vendor " + call.request.vendor_id);
    v201::DataTransferResponse answer;
    answer.status = v201::DataTransferStatusEnum::kUnknownVendorId;
    respond.Ok(answer);
  });
}

}  // namespace csms::gateway::ocpp201
