#include "csms/gateway/charger_link_service.h"

#include "csms/common/log.h"
#include "csms/gateway/ocpp201/remote_trigger.h"

namespace csms::gateway {

grpc::ServerUnaryReactor* ChargerLinkService::Call(grpc::CallbackServerContext* context,
                                                   const gateway::v1::CallRequest* request,
                                                   gateway::v1::CallResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (request->charger_id().empty() || request->action().empty()) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "charger_id and action are required"));
    return reactor;
  }
  auto connection = registry_.Find(request->charger_id());
  if (!connection) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::NOT_FOUND,
                     "charger " + request->charger_id() + " is not connected to this gateway"));
    return reactor;
  }
  auto timeout =
      std::chrono::milliseconds(request->timeout_ms() > 0 ? request->timeout_ms() : 30000);
  CSMS_LOG(kInfo, "gateway") << "sending " << log::Sanitize(request->action(), 64) << " to "
                             << log::Sanitize(request->charger_id(), 48);
  connection->SendCall(
      request->action(), request->payload_json(), timeout,
      [reactor, response, charger = request->charger_id(),
       weak = std::weak_ptr<ChargerConnection>(connection),
       trigger = request->action() == "TriggerMessage" ? request->payload_json()
                                                       : std::string()](CallOutcome outcome) {
        using Kind = CallOutcome::Kind;
        switch (outcome.kind) {
          case Kind::kResult:
            if (!trigger.empty()) {
              auto live = weak.lock();
              if (auto station = live ? live->station() : nullptr) {
                ocpp201::NoteAcceptedTrigger(
                    *station, nlohmann::json::parse(trigger, nullptr, false),
                    nlohmann::json::parse(outcome.payload_json, nullptr, false), RealClock().Now());
              }
            }
            response->set_result_json(std::move(outcome.payload_json));
            reactor->Finish(grpc::Status::OK);
            return;
          case Kind::kError: {
            auto* error = response->mutable_error();
            error->set_error_code(outcome.error_code);
            error->set_description(outcome.error_description);
            error->set_details_json(outcome.payload_json);
            reactor->Finish(grpc::Status::OK);
            return;
          }
          case Kind::kInvalidReply: {
            auto* invalid = response->mutable_invalid_reply();
            invalid->set_payload_json(std::move(outcome.payload_json));
            invalid->set_violation(outcome.error_description);
            reactor->Finish(grpc::Status::OK);
            return;
          }
          case Kind::kTimeout:
            reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                         "charger " + charger + " did not answer in time"));
            return;
          case Kind::kOverloaded:
            reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                         "too many commands queued for charger " + charger));
            return;
          case Kind::kClosed:
            reactor->Finish(
                grpc::Status(grpc::StatusCode::NOT_FOUND, "charger " + charger + " disconnected"));
            return;
        }
      });
  return reactor;
}

grpc::ServerUnaryReactor* ChargerLinkService::Disconnect(
    grpc::CallbackServerContext* context, const gateway::v1::DisconnectRequest* request,
    gateway::v1::DisconnectResponse* response) {
  auto connection = registry_.Find(request->charger_id());
  const bool ours = connection && connection->connection_id() == request->connection_id();
  if (ours) {
    CSMS_LOG(kInfo, "gateway") << "closing " << log::Sanitize(request->charger_id())
                               << " connection " << log::Sanitize(request->connection_id()) << ": "
                               << log::Sanitize(request->reason());
    connection->Close(1000, request->reason().empty() ? "replaced by a newer connection"
                                                      : request->reason().substr(0, 120));
  }
  response->set_closed(ours);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace csms::gateway
