// O: display messages. The charger's report of its messages is acknowledged and logged.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/notify_display_messages.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddDisplayRoutes(RouteTable& routes, const BlockContext&) {
  routes.Add<v201::NotifyDisplayMessagesRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "NotifyDisplayMessages",
                    "request " + std::to_string(call.request.request_id));
    respond.Ok({});
  });
}

}  // namespace csms::gateway::ocpp201
