#include "csms/control/operator_call.h"

#include <algorithm>

namespace csms::control {
namespace {

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

grpc::Status CommandError(grpc::StatusCode code, const std::string& error,
                          const std::string& message, const nlohmann::json& ocpp_error) {
  nlohmann::json details = {{"error", error}};
  if (!ocpp_error.is_null()) details["ocpp_error"] = ocpp_error;
  return grpc::Status(code, message, Dump(details));
}

grpc::Status CommandFailure(const std::string& action, const CommandReply& reply) {
  switch (reply.outcome) {
    case CommandOutcome::kCallError:
      return CommandError(grpc::StatusCode::ABORTED, "charger_error",
                          "the charger answered " + action + " with CALLERROR " + reply.error_code +
                              (reply.description.empty() ? "" : ": " + reply.description),
                          nlohmann::json{{"code", reply.error_code},
                                         {"description", reply.description},
                                         {"details", reply.error_details}});
    case CommandOutcome::kTimeout:
      return CommandError(grpc::StatusCode::DEADLINE_EXCEEDED, "timeout", reply.description);
    case CommandOutcome::kOffline:
      return CommandError(grpc::StatusCode::FAILED_PRECONDITION, "offline", reply.description);
    case CommandOutcome::kInvalidReply:
      return CommandError(
          grpc::StatusCode::ABORTED, "invalid_reply",
          "the charger's " + action + " reply is not valid OCPP: " + reply.description);
    case CommandOutcome::kInvalidRequest:
      return CommandError(grpc::StatusCode::INVALID_ARGUMENT, "invalid_payload",
                          action + ": " + reply.description);
    case CommandOutcome::kResult:
    case CommandOutcome::kFailed:
      break;
  }
  return CommandError(grpc::StatusCode::UNAVAILABLE, "unavailable", reply.description);
}

auth::Principal AuthorizeCaller(auth::Authenticator* authenticator,
                                const grpc::CallbackServerContext& context, auth::Role required,
                                const char* method) {
  std::optional<auth::Principal> caller;
  if (authenticator != nullptr && authenticator->enabled()) {
    grpc::Status status = authenticator->CheckGrpc(
        context, std::min(required, auth::Role::kOperate), method, &caller);
    if (!status.ok()) {
      throw RpcError(
          grpc::Status(status.error_code(), status.error_message(),
                       Dump({{"error", status.error_code() == grpc::StatusCode::PERMISSION_DENIED
                                           ? "forbidden"
                                           : "unauthorized"}})));
    }
  }
  auth::Principal who = auth::OnBehalfOf(context, caller);
  if (who.role < required) {
    throw RpcError(CommandError(grpc::StatusCode::PERMISSION_DENIED, "forbidden",
                                std::string(method) + " needs the " + auth::RoleName(required) +
                                    " role; key '" + who.key_id + "' has " +
                                    auth::RoleName(who.role)));
  }
  return who;
}

void BadRequest(const std::string& message) {
  throw RpcError(CommandError(grpc::StatusCode::INVALID_ARGUMENT, "bad_request", message));
}

ChargerRecord FindCharger(const ChargerAccess& access, const std::string& charger_id) {
  try {
    return access.Require(charger_id);
  } catch (const RpcError& e) {
    const auto code = e.status().error_code();
    throw RpcError(
        CommandError(code, code == grpc::StatusCode::NOT_FOUND ? "unknown_charger" : "bad_request",
                     e.status().error_message()));
  }
}

void RequireOnline(const ChargerAccess& access, const ChargerRecord& charger) {
  try {
    access.RequireReachable(charger);
  } catch (const RpcError& e) {
    throw RpcError(
        CommandError(grpc::StatusCode::FAILED_PRECONDITION, "offline", e.status().error_message()));
  }
}

std::chrono::milliseconds CallBudget(const grpc::CallbackServerContext& context,
                                     std::chrono::milliseconds limit) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      context.deadline() - std::chrono::system_clock::now());
  return std::max(std::chrono::milliseconds(1), std::min(limit, left));
}

}  // namespace csms::control
