// L: firmware management. Progress notifications go into the charger's event log and are
// answered once stored (type: the status; request_id: the UpdateFirmware / PublishFirmware
// they report on), so that the firmware job that follows them (issue 13) misses none.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/firmware_status_notification.h"
#include "csms/ocpp/v201/publish_firmware_status_notification.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

namespace {

// FirmwareStatusNotification and PublishFirmwareStatusNotification alike.
template <typename Request>
control::v1::ChargerEvent StatusEvent(const BlockContext& ctx, const InboundCall<Request>& call) {
  const Request& r = call.request;
  const std::string status(v201::ToString(r.status));
  LogNotification(*call.station, call.message_id, Request::kAction, status);
  auto event =
      MakeChargerEvent(*call.station, Request::kAction, status, ctx.clock.Now(), ocpp::Encode(r));
  if (r.request_id) event.set_request_id(*r.request_id);
  return event;
}

}  // namespace

void AddFirmwareRoutes(RouteTable& routes, const BlockContext& ctx) {
  routes.Add<v201::FirmwareStatusNotificationRequest>([&ctx](const auto& call, auto respond) {
    RecordThenAnswer(ctx, {StatusEvent(ctx, call)}, std::move(respond));
  });
  routes.Add<v201::PublishFirmwareStatusNotificationRequest>(
      [&ctx](const auto& call, auto respond) {
        RecordThenAnswer(ctx, {StatusEvent(ctx, call)}, std::move(respond));
      });
}

}  // namespace csms::gateway::ocpp201
