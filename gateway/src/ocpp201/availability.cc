// G: availability. StatusNotification updates the connector's status in control (G01), which
// also keeps it in the charger's status history (its event log).
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/status_notification.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

control::v1::StatusReport MakeStatusReport(const StationContext& station, TimePoint at,
                                           std::string_view status, int evse_id, int connector_id,
                                           bool from_status_notification) {
  control::v1::StatusReport report;
  report.set_charger_id(station.charger_id);
  report.set_connection_id(station.connection_id);
  report.set_evse_id(evse_id);
  report.set_connector_id(connector_id);
  report.set_status(std::string(status));
  *report.mutable_timestamp() = ToProto(at);
  report.set_from_status_notification(from_status_notification);
  return report;
}

void AddAvailabilityRoutes(RouteTable& routes, const BlockContext& ctx) {
  routes.Add<v201::StatusNotificationRequest>([&ctx](const auto& call, auto respond) {
    const auto& r = call.request;
    ctx.backend.ReportStatus(MakeStatusReport(*call.station, RequireTime(r.timestamp, "timestamp"),
                                              v201::ToString(r.connector_status), r.evse_id,
                                              r.connector_id, /*from_status_notification=*/true));
    respond.Ok({});
  });
}

}  // namespace csms::gateway::ocpp201
