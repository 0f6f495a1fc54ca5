#include "csms/common/log.h"
#include "csms/gateway/ocpp201/blocks.h"

namespace csms::gateway::ocpp201 {

TimePoint RequireTime(const std::string& text, std::string_view field) {
  if (auto t = ParseRfc3339(text)) return *t;
  throw ocpp::model::DecodeError(field, "not an RFC 3339 date-time",
                                 ocpp::error_code::kPropertyConstraintViolation);
}

void LogNotification(const StationContext& station, const std::string& message_id,
                     std::string_view action, std::string_view summary) {
  CSMS_LOG_WITH(kInfo, "gateway", (log::Fields{station.charger_id, message_id, action}))
      << action << " from " << station.charger_id << (summary.empty() ? "" : ": ")
      << log::Sanitize(summary, 120);
}

RouteTable MakeRoutes(const BlockContext& ctx, const ocpp::SchemaSet* response_schemas) {
  RouteTable routes(response_schemas);
  AddProvisioningRoutes(routes, ctx);
  AddAuthorizationRoutes(routes, ctx);
  AddAvailabilityRoutes(routes, ctx);
  AddTransactionRoutes(routes, ctx);
  AddMeteringRoutes(routes, ctx);
  AddDiagnosticsRoutes(routes, ctx);
  AddFirmwareRoutes(routes, ctx);
  AddSecurityRoutes(routes, ctx);
  AddSmartChargingRoutes(routes, ctx);
  AddReservationRoutes(routes, ctx);
  AddDisplayRoutes(routes, ctx);
  AddDataTransferRoutes(routes, ctx);
  return routes;
}

}  // namespace csms::gateway::ocpp201
