// J: metering. MeterValues outside a transaction are acknowledged; they are never billed from
// (DIGEST §4.6), and the event log that keeps them comes later.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/meter_values.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddMeteringRoutes(RouteTable& routes, const BlockContext&) {
  routes.Add<v201::MeterValuesRequest>([](const auto&, auto respond) { respond.Ok({}); });
}

}  // namespace csms::gateway::ocpp201
