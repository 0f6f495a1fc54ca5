#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "csms/control/v1/reservations.grpc.pb.h"
#include "csms/gateway/rest_api.h"
#include "csms/gateway/rest_request.h"

namespace csms::gateway {

// Reservations (OCPP 2.0.1 H01-H04, issue 14), one to one onto control's ReservationService:
//   POST   /chargers/{id}/reservations   {"evse_id","id_token","token_type","group","expires_at"}
//          sends ReserveNow (operate) and answers 200 {"status":"success","reservation_id",
//          "response":{"status": the charger's word, "reservation":{...}}}, also when the charger
//          refused (Faulted, Occupied, Rejected, Unavailable); the reservation is stored either way
//   DELETE /chargers/{id}/reservations/{reservation_id}   sends CancelReservation (operate);
//          404 for a reservation the charger never had, 409 reservation_closed for one that ended
//   GET    /reservations?charger_id=&active=&limit=&cursor=   {"reservations":[...],
//          "next_cursor"} (read), newest first
nlohmann::json ReservationJson(const control::v1::Reservation& reservation);

// The POST body: id_token, token_type and expires_at (RFC 3339) required; evse_id (a positive
// integer; absent or null: any EVSE) and group ({"id_token","type"} or null) optional; unknown
// fields refused. Values are checked by control.
std::variant<control::v1::CreateReservationRequest, RestError> ParseReservationBody(
    const std::string& body);

class RestReservations {
 public:
  using Respond = std::function<void(HttpResponse)>;
  explicit RestReservations(std::shared_ptr<grpc::Channel> control);

  // True when `parts` (the path split at '/') is one of these routes; then `respond` runs once.
  bool Handle(const HttpRequest& request, const std::vector<std::string>& parts,
              const std::string& query, Respond& respond);

 private:
  void Create(const HttpRequest& http, const std::string& charger_id, Respond respond);
  void Cancel(const HttpRequest& http, const std::string& charger_id, int32_t reservation_id,
              Respond respond);
  void List(const HttpRequest& http, const std::string& query, Respond respond);

  std::unique_ptr<control::v1::ReservationService::Stub> control_;
};

}  // namespace csms::gateway
