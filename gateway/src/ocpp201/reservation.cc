// H: reservation. Status updates are acknowledged and logged until reservations are stored.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/reservation_status_update.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddReservationRoutes(RouteTable& routes, const BlockContext&) {
  routes.Add<v201::ReservationStatusUpdateRequest>([](const auto& call, auto respond) {
    LogNotification(*call.station, call.message_id, "ReservationStatusUpdate",
                    "reservation " + std::to_string(call.request.reservation_id) + " " +
                        std::string(v201::ToString(call.request.reservation_update_status)));
    respond.Ok({});
  });
}

}  // namespace csms::gateway::ocpp201
