// N: diagnostics. Every NotifyEvent item and every LogStatusNotification goes into the charger's
// event log, and the message is answered once stored. A NotifyEvent may also carry a
// connector's status instead of a StatusNotification (G01.FR.03-07: component Connector,
// variable AvailabilityState), which updates the connector like one. The monitoring report and
// customer information are acknowledged and logged.
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
    const TimePoint received_at = ctx.clock.Now();
    std::vector<control::v1::ChargerEvent> events;
    std::vector<control::v1::StatusReport> statuses;
    events.reserve(call.request.event_data.size());
    // Everything is read before anything is sent: a bad item refuses the whole message.
    for (size_t i = 0; i < call.request.event_data.size(); ++i) {
      const v201::EventData& item = call.request.event_data[i];
      const TimePoint occurred_at =
          RequireTime(item.timestamp, "eventData[" + std::to_string(i) + "].timestamp");
      auto& event = events.emplace_back(MakeChargerEvent(
          *call.station, call.request.kAction, item.component.name + "." + item.variable.name,
          received_at, ocpp::Encode(item)));
      *event.mutable_occurred_at() = ToProto(occurred_at);
      if (item.component.evse) {
        event.set_evse_id(item.component.evse->id);
        if (item.component.evse->connector_id) {
          event.set_connector_id(*item.component.evse->connector_id);
        }
      }
      if (item.component.name != "Connector" || item.variable.name != "AvailabilityState") {
        continue;
      }
      // A station-wide state names no single connector.
      if (!item.component.evse || !IsConnectorStatus(item.actual_value)) continue;
      statuses.push_back(MakeStatusReport(*call.station, occurred_at, item.actual_value,
                                          item.component.evse->id,
                                          item.component.evse->connector_id.value_or(1)));
    }
    for (const auto& status : statuses) ctx.backend.ReportStatus(status);
    RecordThenAnswer(ctx, std::move(events), std::move(respond));
  });
  // Answers a GetMonitoringReport: allowed while Pending (B02.FR.09).
  routes
      .Add<v201::NotifyMonitoringReportRequest>([](const auto& call, auto respond) {
        LogNotification(*call.station, call.message_id, "NotifyMonitoringReport");
        respond.Ok({});
      })
      .allowed_before_accepted = true;
  // type: the upload's status; request_id: the GetLog it reports on.
  routes.Add<v201::LogStatusNotificationRequest>([&ctx](const auto& call, auto respond) {
    const auto& r = call.request;
    const std::string status(v201::ToString(r.status));
    LogNotification(*call.station, call.message_id, r.kAction, status);
    auto event =
        MakeChargerEvent(*call.station, r.kAction, status, ctx.clock.Now(), ocpp::Encode(r));
    if (r.request_id) event.set_request_id(*r.request_id);
    RecordThenAnswer(ctx, {std::move(event)}, std::move(respond));
  });
  routes.Add<v201::NotifyCustomerInformationRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "NotifyCustomerInformation");
    respond.Ok({});
  });
}

}  // namespace csms::gateway::ocpp201
