// N: diagnostics. NotifyEvent may carry a connector's status instead of a StatusNotification
// (G01.FR.03-07: component Connector, variable AvailabilityState), which updates the connector
// like one; the other reports are acknowledged and logged until the event log keeps them.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/log_status_notification.h"
#include "csms/ocpp/v201/notify_customer_information.h"
#include "csms/ocpp/v201/notify_event.h"
#include "csms/ocpp/v201/notify_monitoring_report.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

namespace {

bool IsConnectorStatus(std::string_view value) {
  v201::ConnectorStatusEnum status;
  return v201::FromString(value, status);
}

}  // namespace

void AddDiagnosticsRoutes(RouteTable& routes, const BlockContext& ctx) {
  routes.Add<v201::NotifyEventRequest>([&ctx](const auto& call, auto respond) {
    for (size_t i = 0; i < call.request.event_data.size(); ++i) {
      const v201::EventData& event = call.request.event_data[i];
      if (event.component.name != "Connector" || event.variable.name != "AvailabilityState") {
        continue;
      }
      // A station-wide state names no single connector.
      if (!event.component.evse || !IsConnectorStatus(event.actual_value)) continue;
      const std::string field = "eventData[" + std::to_string(i) + "].timestamp";
      ctx.backend.ReportStatus(MakeStatusReport(*call.station, RequireTime(event.timestamp, field),
                                                event.actual_value, event.component.evse->id,
                                                event.component.evse->connector_id.value_or(1)));
    }
    respond.Ok({});
  });
  // Answers a GetMonitoringReport: allowed while Pending (B02.FR.09).
  routes
      .Add<v201::NotifyMonitoringReportRequest>([](const auto& call, auto respond) {
        LogNotification(*call.station, call.message_id, "NotifyMonitoringReport");
        respond.Ok({});
      })
      .allowed_before_accepted = true;
  routes.Add<v201::LogStatusNotificationRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "LogStatusNotification",
                    v201::ToString(call.request.status));
    respond.Ok({});
  });
  routes.Add<v201::NotifyCustomerInformationRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "NotifyCustomerInformation");
    respond.Ok({});
  });
}

}  // namespace csms::gateway::ocpp201
