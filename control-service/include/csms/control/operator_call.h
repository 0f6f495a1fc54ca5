#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "csms/common/api_auth.h"
#include "csms/common/log.h"
#include "csms/control/charger_access.h"
#include "csms/control/command_sender.h"
#include "csms/control/rpc_status.h"

// What every operator method on the gRPC callback API does first and last: who is asking, how
// long it may take, and how a failure finishes the call.
namespace csms::control {

// The status a failed operator call finishes with: `error` is the REST code the details carry
// ({"error": ..., "ocpp_error": ...}).
grpc::Status CommandError(grpc::StatusCode code, const std::string& error,
                          const std::string& message, const nlohmann::json& ocpp_error = nullptr);

// Throws the INVALID_ARGUMENT `bad_request` status with `message`.
[[noreturn]] void BadRequest(const std::string& message);

// The status for a command whose reply was not a usable CALLRESULT.
grpc::Status CommandFailure(const std::string& action, const CommandReply& reply);

// Who is asking, with at least `required`; RpcError (with details) otherwise. `authenticator`
// null or disabled: open mode, where the caller may act on behalf of an operator.
auth::Principal AuthorizeCaller(auth::Authenticator* authenticator,
                                const grpc::CallbackServerContext& context, auth::Role required,
                                const char* method);

// The charger a command is for, with the REST error codes in the status details
// (unknown_charger, bad_request).
ChargerRecord FindCharger(const ChargerAccess& access, const std::string& charger_id);
// RpcError `offline` unless the charger may be sent a CALL now.
void RequireOnline(const ChargerAccess& access, const ChargerRecord& charger);

// The call's budget: `limit`, or the caller's own deadline when that is shorter (at least 1 ms).
std::chrono::milliseconds CallBudget(const grpc::CallbackServerContext& context,
                                     std::chrono::milliseconds limit);

// Runs `body`; what it throws finishes the call (`reactor`) with the matching status.
template <typename Body>
void Guard(grpc::ServerUnaryReactor* reactor, const char* method, Body&& body) {
  try {
    body();
  } catch (const RpcError& e) {
    reactor->Finish(e.status());
  } catch (const pqxx::broken_connection&) {
    reactor->Finish(
        CommandError(grpc::StatusCode::UNAVAILABLE, "unavailable", "control database unavailable"));
  } catch (const std::exception& e) {
    CSMS_LOG(kError, "control") << method << " failed: " << log::Sanitize(e.what(), 200);
    reactor->Finish(
        CommandError(grpc::StatusCode::INTERNAL, "internal", std::string(method) + " failed"));
  }
}

}  // namespace csms::control
