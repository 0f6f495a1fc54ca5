#include "csms/common/log.h"
#include "csms/common/ocpp_redact.h"
#include "csms/gateway/ocpp201/blocks.h"

namespace csms::gateway::ocpp201 {

TimePoint RequireTime(const std::string& text, std::string_view field) {
  if (auto t = ParseRfc3339(text)) return *t;
  throw ocpp::model::DecodeError(field, "not an RFC 3339 date-time",
                                 ocpp::error_code::kPropertyConstraintViolation);
}

control::v1::ChargerEvent MakeChargerEvent(const StationContext& station, std::string_view kind,
                                           std::string type, TimePoint received_at,
                                           const nlohmann::json& payload) {
  control::v1::ChargerEvent event;
  event.set_charger_id(station.charger_id);
  event.set_connection_id(station.connection_id);
  event.set_kind(std::string(kind));
  event.set_type(std::move(type));
  *event.mutable_received_at() = ToProto(received_at);
  event.set_payload_json(ocpp::RedactSecrets(kind, payload)
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return event;
}

std::string NotStored(const std::string& charger_id, const std::string& message_id,
                      std::string_view kind, const grpc::Status& status, std::string_view where) {
  CSMS_LOG_WITH(kWarn, "gateway", (log::Fields{charger_id, message_id, kind}))
      << kind << " of " << charger_id << " not stored in its " << where << " ("
      << static_cast<int>(status.error_code()) << " " << log::Sanitize(status.error_message(), 200)
      << "); refused so that the charger sends it again";
  // The detail (which may name the database) stays in our log.
  return std::string(where) + (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                                   ? " unavailable: no answer in time"
                                   : " unavailable");
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
