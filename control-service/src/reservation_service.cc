#include "csms/control/reservation_service.h"

#include <algorithm>

#include "csms/common/log.h"
#include "csms/control/operator_call.h"
#include "csms/control/rpc_status.h"
#include "csms/control/token_rules.h"
#include "csms/ocpp/v201/cancel_reservation.h"
#include "csms/ocpp/v201/reserve_now.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
using grpc::StatusCode;
constexpr const char* kComponent = "control";
constexpr int kDefaultPageSize = 50, kMaxPageSize = 500;

[[noreturn]] void NoReservation(const std::string& charger_id, int32_t reservation_id) {
  throw RpcError(CommandError(
      StatusCode::NOT_FOUND, "not_found",
      "charger " + charger_id + " has no reservation " + std::to_string(reservation_id)));
}

std::string EvseList(const std::set<int32_t>& evses) {
  if (evses.empty()) return "none known yet: no StatusNotification and no device model";
  std::string out;
  for (int32_t e : evses) out += (out.empty() ? "" : ", ") + std::to_string(e);
  return out;
}

v201::IdToken IdTokenOf(const std::string& id_token, const std::string& type) {
  v201::IdToken token;
  token.id_token = id_token;
  v201::FromString(type, token.type);  // validated before
  return token;
}

}  // namespace

std::string ValidateReservation(const v1::CreateReservationRequest& r, TimePoint now) {
  if (!IsTokenType(r.token_type())) {
    return "token_type '" + r.token_type() +
           "' is not an OCPP IdTokenEnumType (Central, eMAID, ISO14443, ISO15693, KeyCode, Local, "
           "MacAddress, NoAuthorization)";
  }
  if (r.id_token().empty() && r.token_type() != "NoAuthorization") {
    return "id_token is required";
  }
  TokenRecord token;
  token.type = r.token_type();
  token.id_token = r.id_token();
  if (r.has_group()) {
    token.group_id_token = r.group().id_token();
    token.group_type = r.group().type();
  }
  if (auto error = ValidateToken(token); !error.empty()) return error;
  if (r.has_evse_id() && r.evse_id() <= 0) {
    return "evse_id must be a positive EVSE id (leave it out to reserve any EVSE)";
  }
  if (!r.has_expires_at()) return "expires_at is required";
  if (FromProto(r.expires_at()) <= now) return "expires_at must be in the future";
  return "";
}

grpc::ServerUnaryReactor* ReservationServiceImpl::CreateReservation(
    grpc::CallbackServerContext* context, const v1::CreateReservationRequest* request,
    v1::CreateReservationResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "CreateReservation", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "CreateReservation");
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    if (auto error = ValidateReservation(*request, RealClock().Now()); !error.empty()) {
      BadRequest(error);
    }
    if (request->has_evse_id()) {
      const std::set<int32_t> known = store_.KnownEvses(charger.charger_id);
      if (known.count(request->evse_id()) == 0) {
        throw RpcError(CommandError(StatusCode::NOT_FOUND, "unknown_evse",
                                    "charger " + charger.charger_id + " has no EVSE " +
                                        std::to_string(request->evse_id()) +
                                        " (known EVSEs: " + EvseList(known) + ")"));
      }
    }
    RequireOnline(access_, charger);

    NewReservation reservation;
    reservation.charger_id = charger.charger_id;
    if (request->has_evse_id()) reservation.evse_id = request->evse_id();
    reservation.id_token = request->id_token();
    reservation.token_type = request->token_type();
    if (request->has_group()) {
      reservation.group_id_token = request->group().id_token();
      reservation.group_type = request->group().type();
    }
    reservation.expires_at = FromProto(request->expires_at());
    reservation.requested_by = who.key_id;
    const v1::Reservation created = store_.Create(reservation);
    const int32_t id = created.reservation_id();

    v201::ReserveNowRequest call;
    call.id = id;
    call.expiry_date_time = FormatRfc3339(reservation.expires_at);
    call.id_token = IdTokenOf(reservation.id_token, reservation.token_type);
    call.evse_id = reservation.evse_id;
    if (reservation.group_id_token) {
      call.group_id_token = IdTokenOf(*reservation.group_id_token, *reservation.group_type);
    }
    sender_.Send(
        charger, call, who.key_id, CallBudget(*context, options_.call_timeout),
        [this, context, reactor, response, id](TypedReply<v201::ReserveNowResponse> reply) {
          Guard(reactor, "CreateReservation", [&] {
            if (!reply.response) {
              store_.CallFailed(id, "ReserveNow got no usable answer: " +
                                        std::string(OutcomeName(reply.raw.outcome)) + " " +
                                        reply.raw.error_code + " " + reply.raw.description);
              if (reply.raw.outcome == CommandOutcome::kCallError) {
                context->AddTrailingMetadata("ocpp-error-code", reply.raw.error_code);
              }
              return reactor->Finish(CommandFailure("ReserveNow", reply.raw));
            }
            const auto& answer = *reply.response;
            const std::string status(v201::ToString(answer.status));
            *response->mutable_reservation() = store_.Answered(id, status);
            response->set_reservation_id(id);
            response->set_status(status);
            if (answer.status_info) {
              response->set_reason_code(answer.status_info->reason_code);
              response->set_additional_info(answer.status_info->additional_info.value_or(""));
            }
            reactor->Finish(grpc::Status::OK);
          });
        });
    CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger.charger_id)
                                << ": reservation " << id << " (EVSE "
                                << (reservation.evse_id ? std::to_string(*reservation.evse_id)
                                                        : std::string("any"))
                                << ") requested by " << log::Sanitize(who.key_id, 80);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ReservationServiceImpl::CancelReservation(
    grpc::CallbackServerContext* context, const v1::CancelReservationRequest* request,
    v1::CancelReservationResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "CancelReservation", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "CancelReservation");
    const ChargerRecord charger = FindCharger(access_, request->charger_id());
    auto reservation = store_.Get(charger.charger_id, request->reservation_id());
    if (!reservation) NoReservation(charger.charger_id, request->reservation_id());
    if (!IsOpenReservation(reservation->state())) {
      throw RpcError(CommandError(
          StatusCode::FAILED_PRECONDITION, "reservation_closed",
          "reservation " + std::to_string(reservation->reservation_id()) + " is already " +
              reservation->state() +
              (reservation->detail().empty() ? "" : " (" + reservation->detail() + ")")));
    }
    RequireOnline(access_, charger);
    v201::CancelReservationRequest call;
    call.reservation_id = reservation->reservation_id();
    sender_.Send(
        charger, call, who.key_id, CallBudget(*context, options_.call_timeout),
        [this, context, reactor, response, id = call.reservation_id,
         charger_id = charger.charger_id,
         by = who.key_id](TypedReply<v201::CancelReservationResponse> reply) {
          Guard(reactor, "CancelReservation", [&] {
            if (!reply.response) {
              if (reply.raw.outcome == CommandOutcome::kCallError) {
                context->AddTrailingMetadata("ocpp-error-code", reply.raw.error_code);
              }
              return reactor->Finish(CommandFailure("CancelReservation", reply.raw));
            }
            const auto& answer = *reply.response;
            const std::string status(v201::ToString(answer.status));
            if (answer.status == v201::CancelReservationStatusEnum::kAccepted) {
              *response->mutable_reservation() =
                  store_.Cancelled(id, by.empty() ? std::string("an operator") : by);
            } else if (auto current = store_.Get(charger_id, id)) {
              // Rejected: the charger holds no such reservation (used or expired meanwhile); its
              // own report, if any, decides the state.
              *response->mutable_reservation() = std::move(*current);
            }
            response->set_status(status);
            if (answer.status_info) {
              response->set_reason_code(answer.status_info->reason_code);
              response->set_additional_info(answer.status_info->additional_info.value_or(""));
            }
            reactor->Finish(grpc::Status::OK);
          });
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* ReservationServiceImpl::ListReservations(
    grpc::CallbackServerContext* context, const v1::ListReservationsRequest* request,
    v1::ListReservationsResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "ListReservations", [&] {
    AuthorizeCaller(auth_, *context, auth::Role::kRead, "ListReservations");
    std::string charger_id;
    if (!request->charger_id().empty()) {
      charger_id = FindCharger(access_, request->charger_id()).charger_id;
    }
    const int limit =
        request->limit() <= 0 ? kDefaultPageSize : std::min(request->limit(), kMaxPageSize);
    std::optional<bool> active;
    if (request->has_active()) active = request->active();
    ReservationStore::Page page;
    try {
      page = store_.List(charger_id, active, limit, request->cursor());
    } catch (const std::invalid_argument&) {
      BadRequest("cursor is not one this list gave");
    }
    for (auto& r : page.reservations) *response->add_reservations() = std::move(r);
    response->set_next_cursor(page.next_cursor);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ReservationServiceImpl::RecordReservationStatus(
    grpc::CallbackServerContext* context, const v1::RecordReservationStatusRequest* request,
    v1::RecordReservationStatusResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "RecordReservationStatus", [&] {
    // Open mode has no service keys: the gateway is then an operator like everyone.
    if (auth_ != nullptr && auth_->enabled()) {
      AuthorizeCaller(auth_, *context, auth::Role::kService, "RecordReservationStatus");
    }
    if (request->charger_id().empty()) BadRequest("charger_id is required");
    if (request->status() != "Expired" && request->status() != "Removed") {
      BadRequest("status must be Expired or Removed");
    }
    auto updated = store_.ApplyStatusUpdate(request->charger_id(), request->reservation_id(),
                                            request->status());
    if (updated) {
      response->set_known(true);
      response->set_state(updated->state());
    } else {
      // Answered all the same: the charger cannot do anything better with it.
      CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(request->charger_id())
                                  << " reported " << request->status() << " for reservation "
                                  << request->reservation_id() << ", which it does not have here";
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

ReservationSweep::ReservationSweep(ReservationStore& store, std::chrono::milliseconds interval)
    : store_(store), interval_(interval) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      RunOnce();
      lock.lock();
    }
  });
}

ReservationSweep::~ReservationSweep() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ReservationSweep::RunOnce() {
  try {
    if (int64_t expired = store_.ExpireDue(); expired > 0) {
      CSMS_LOG(kInfo, kComponent) << expired << " reservation(s) past expires_at released";
    }
  } catch (const std::exception& e) {
    CSMS_LOG(kWarn, kComponent) << "reservation expiry sweep failed: "
                                << log::Sanitize(e.what(), 200);
  }
}

}  // namespace csms::control
