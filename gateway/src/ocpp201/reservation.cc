// H: reservation. ReservationStatusUpdate (H04: Expired, Removed) is stored by control before
// the charger is answered; if control cannot store it, the charger gets InternalError and sends
// it again. Reservations themselves are made and cancelled through control's ReservationService
// (ReserveNow, CancelReservation), and used by the TransactionEvent that carries reservationId.
#include "csms/gateway/ocpp201/blocks.h"
#include "csms/ocpp/v201/reservation_status_update.h"

namespace csms::gateway::ocpp201 {

namespace v201 = ocpp::v201;

void AddReservationRoutes(RouteTable& routes, const BlockContext& ctx) {
  routes.Add<v201::ReservationStatusUpdateRequest>([&ctx](const auto& call, auto respond) {
    const std::string status(v201::ToString(call.request.reservation_update_status));
    LogNotification(*call.station, call.message_id, "ReservationStatusUpdate",
                    "reservation " + std::to_string(call.request.reservation_id) + " " + status);
    control::v1::RecordReservationStatusRequest request;
    request.set_charger_id(call.station->charger_id);
    request.set_connection_id(call.station->connection_id);
    request.set_reservation_id(call.request.reservation_id);
    request.set_status(status);
    *request.mutable_received_at() = ToProto(ctx.clock.Now());
    ctx.backend.RecordReservationStatus(
        request,
        [respond, charger_id = call.station->charger_id](
            const grpc::Status& stored, const control::v1::RecordReservationStatusResponse&) {
          if (stored.ok()) return respond.Ok({});
          respond.Error(ocpp::error_code::kInternalError,
                        NotStored(charger_id, respond.message_id(), "ReservationStatusUpdate",
                                  stored, "reservation store"));
        });
  });
}

}  // namespace csms::gateway::ocpp201
