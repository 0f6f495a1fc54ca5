// L: firmware management. Progress notifications are acknowledged and logged until firmware
// updates are driven from here.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/firmware_status_notification.h"
#include "csms/ocpp/v201/publish_firmware_status_notification.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddFirmwareRoutes(RouteTable& routes, const BlockContext&) {
  routes.Add<v201::FirmwareStatusNotificationRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "FirmwareStatusNotification",
                    v201::ToString(call.request.status));
    respond.Ok({});
  });
  routes.Add<v201::PublishFirmwareStatusNotificationRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "PublishFirmwareStatusNotification",
                    v201::ToString(call.request.status));
    respond.Ok({});
  });
}

}  // namespace csms::gateway::ocpp201
