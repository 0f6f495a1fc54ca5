#include "csms/control/charging_commands.h"

#include <openssl/rand.h>

#include <cmath>
#include <string_view>

#include "csms/common/log.h"
#include "csms/control/decisions.h"
#include "csms/control/operator_call.h"
#include "csms/control/request_checks.h"
#include "csms/control/rpc_status.h"
#include "csms/ocpp/v201/set_variables.h"

namespace csms::control {
namespace {

namespace v201 = ocpp::v201;
using grpc::StatusCode;
constexpr const char* kComponent = "control";

grpc::Status Refused(const std::string& charger_id, std::string_view action,
                     const std::string& reason) {
  std::string message = "charger " + charger_id + " rejected " + std::string(action);
  if (!reason.empty()) message += ": " + reason;
  return CommandError(StatusCode::FAILED_PRECONDITION, "rejected", message);
}

// A reply that is no usable CALLRESULT. A CALLERROR reads as a refusal with the error as the
// reason (as it always has for these commands); the rest as for every command.
grpc::Status Failure(const std::string& charger_id, std::string_view action,
                     const CommandReply& reply) {
  if (reply.outcome == CommandOutcome::kCallError) {
    return Refused(charger_id, action,
                   reply.error_code + (reply.description.empty() ? "" : ": " + reply.description));
  }
  return CommandFailure(std::string(action), reply);
}

// 40 characters of OCPP's passwordString set from the CSPRNG: the longest a station must take.
std::string RandomStationPassword() {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-_=:+|@.";
  std::string password;
  while (password.size() < 40) {
    unsigned char bytes[64];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      throw RpcError(StatusCode::INTERNAL, "no random bytes for a password");
    }
    for (unsigned char b : bytes) {
      // Rejection sampling keeps every character equally likely (256 is not a multiple of 71).
      if (b < 256 - 256 % kAlphabet.size() && password.size() < 40) {
        password += kAlphabet[b % kAlphabet.size()];
      }
    }
  }
  return password;
}

v201::SetVariablesRequest PasswordChange(const std::string& password) {
  v201::SetVariableData item;
  item.attribute_value = password;
  item.component.name = "SecurityCtrlr";
  item.variable.name = "BasicAuthPassword";
  v201::SetVariablesRequest request;
  request.set_variable_data.push_back(std::move(item));
  return request;
}

// SetVariables' answer for its single entry: "Accepted", or what the charger said instead.
std::string SetVariableStatus(const v201::SetVariablesResponse& response) {
  if (response.set_variable_result.size() != 1) return "an unexpected answer";
  return std::string(v201::ToString(response.set_variable_result[0].attribute_status));
}

}  // namespace

void ChargingCommands::AwaitEvent(grpc::CallbackServerContext* context,
                                  grpc::ServerUnaryReactor* reactor, Deadline deadline,
                                  const std::string& what, std::function<bool()> stored,
                                  std::function<void(bool arrived)> finish) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout_).count();
  waiter_.WaitAsync(
      deadline, std::move(stored), [context] { return context->IsCancelled(); },
      [reactor, what, seconds, finish = std::move(finish)](bool arrived) {
        finish(arrived);
        if (!arrived) {
          reactor->Finish(CommandError(StatusCode::DEADLINE_EXCEEDED, "timeout",
                                       "charger accepted but sent no " + what + " within " +
                                           std::to_string(seconds) + " s"));
        }
      });
}

grpc::ServerUnaryReactor* ChargingCommands::StartTransaction(
    grpc::CallbackServerContext* context, const v1::StartTransactionRequest* request,
    v1::StartTransactionResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "StartTransaction", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "StartTransaction");
    const Deadline deadline = std::chrono::steady_clock::now() + CallBudget(*context, timeout_);
    const std::string charger_id = request->charger_id();
    RequireId(request->id_token(), "id_token");
    if (request->evse_id() < 0 || request->connector_id() < 0) {
      throw RpcError(StatusCode::INVALID_ARGUMENT, "evse_id and connector_id must be >= 0");
    }
    // evseId must be > 0 in RequestStartTransaction; 0 means "not given".
    const int evse_id = request->evse_id() == 0 ? 1 : request->evse_id();
    const ChargerRecord charger = access_.Require(charger_id);
    access_.RequireReachable(charger);

    const int64_t remote_start_id =
        stores_.remote_starts.Create(charger_id, evse_id, request->id_token());
    const auto ocpp_request = BuildRequestStartTransaction(
        request->id_token(), static_cast<int32_t>(remote_start_id), evse_id);
    auto started = [this, reactor, response, charger_id,
                    remote_start_id](const std::string& transaction_id) {
      CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger_id)
                                  << " started transaction " << log::Sanitize(transaction_id)
                                  << " (remoteStartId " << remote_start_id << ")";
      response->set_charger_id(charger_id);
      response->set_transaction_id(transaction_id);
      response->set_remote_start_id(remote_start_id);
      reactor->Finish(grpc::Status::OK);
    };
    sender_.Send(
        charger, ocpp_request, who.key_id, CallBudget(*context, timeout_),
        [this, context, reactor, deadline, charger_id, remote_start_id,
         started](TypedReply<v201::RequestStartTransactionResponse> reply) {
          Guard(reactor, "StartTransaction", [&] {
            const auto action = v201::RequestStartTransactionRequest::kAction;
            if (!reply.response) {
              stores_.remote_starts.SetStatus(remote_start_id,
                                              reply.raw.outcome == CommandOutcome::kCallError
                                                  ? remote_start_status::kRejected
                                                  : remote_start_status::kFailed);
              return reactor->Finish(Failure(charger_id, action, reply.raw));
            }
            if (reply.response->status != v201::RequestStartStopStatusEnum::kAccepted) {
              stores_.remote_starts.SetStatus(remote_start_id, remote_start_status::kRejected);
              return reactor->Finish(
                  Refused(charger_id, action, RefusalReason(reply.response->status_info)));
            }
            if (const auto& tx = reply.response->transaction_id; tx && !tx->empty()) {
              // The EVSE already had a transaction (cable first, F01.FR.13): that one is ours.
              stores_.remote_starts.SetTransaction(remote_start_id, *tx);
              return started(*tx);
            }
            stores_.remote_starts.SetStatus(remote_start_id, remote_start_status::kAccepted);
            auto transaction_id = std::make_shared<std::string>();
            AwaitEvent(
                context, reactor, deadline, "TransactionEvent Started",
                [this, remote_start_id, transaction_id] {
                  *transaction_id = stores_.remote_starts.TransactionOf(remote_start_id);
                  return !transaction_id->empty();
                },
                [this, remote_start_id, transaction_id, started](bool arrived) {
                  if (arrived) return started(*transaction_id);
                  try {
                    stores_.remote_starts.SetStatus(remote_start_id,
                                                    remote_start_status::kTimedOut);
                  } catch (const std::exception& e) {
                    CSMS_LOG(kWarn, kComponent)
                        << "remote start " << remote_start_id
                        << " not marked TimedOut: " << log::Sanitize(e.what(), 200);
                  }
                });
          });
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* ChargingCommands::StopTransaction(
    grpc::CallbackServerContext* context, const v1::StopTransactionRequest* request,
    v1::StopTransactionResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "StopTransaction", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "StopTransaction");
    const Deadline deadline = std::chrono::steady_clock::now() + CallBudget(*context, timeout_);
    const std::string charger_id = request->charger_id();
    const std::string transaction_id = request->transaction_id();
    const ChargerRecord charger = access_.Require(charger_id);
    RequireId(transaction_id, "transaction_id");
    // The transaction's final figures, once it has ended.
    auto answer = [this, reactor, response, charger_id, transaction_id] {
      auto transaction = stores_.registry.FindTransaction(charger_id, transaction_id);
      response->set_transaction_id(transaction_id);
      response->set_energy_consumed_kwh(transaction->energy_kwh);
      response->set_cost(transaction->cost);
      response->set_currency(transaction->currency);
      reactor->Finish(grpc::Status::OK);
    };
    // A stop for a transaction that already ended answers with its figures, even once the
    // charger has gone offline: retrying a stop is safe.
    auto transaction = stores_.registry.FindTransaction(charger_id, transaction_id);
    if (!transaction) {
      throw RpcError(StatusCode::NOT_FOUND,
                     "transaction " + transaction_id + " is not known on charger " + charger_id);
    }
    if (transaction->ended) return answer();
    access_.RequireReachable(charger);
    sender_.Send(charger, BuildRequestStopTransaction(transaction_id), who.key_id,
                 CallBudget(*context, timeout_),
                 [this, context, reactor, deadline, charger_id, transaction_id,
                  answer](TypedReply<v201::RequestStopTransactionResponse> reply) {
                   Guard(reactor, "StopTransaction", [&] {
                     const auto action = v201::RequestStopTransactionRequest::kAction;
                     if (!reply.response)
                       return reactor->Finish(Failure(charger_id, action, reply.raw));
                     if (reply.response->status != v201::RequestStartStopStatusEnum::kAccepted) {
                       return reactor->Finish(
                           Refused(charger_id, action, RefusalReason(reply.response->status_info)));
                     }
                     AwaitEvent(
                         context, reactor, deadline, "TransactionEvent Ended",
                         [this, charger_id, transaction_id] {
                           auto t = stores_.registry.FindTransaction(charger_id, transaction_id);
                           return t && t->ended;
                         },
                         [reactor, charger_id, transaction_id, answer](bool arrived) {
                           if (!arrived) return;
                           CSMS_LOG(kInfo, kComponent)
                               << "charger " << log::Sanitize(charger_id) << " stopped transaction "
                               << log::Sanitize(transaction_id);
                           Guard(reactor, "StopTransaction", answer);
                         });
                   });
                 });
  });
  return reactor;
}

grpc::ServerUnaryReactor* ChargingCommands::SetChargingLimit(
    grpc::CallbackServerContext* context, const v1::SetChargingLimitRequest* request,
    v1::SetChargingLimitResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "SetChargingLimit", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "SetChargingLimit");
    const std::string charger_id = request->charger_id();
    const double kw = request->max_power_kw();
    if (!std::isfinite(kw) || kw <= 0) {
      throw RpcError(StatusCode::INVALID_ARGUMENT, "max_power_kw must be a positive number");
    }
    const ChargerRecord charger = access_.Require(charger_id);
    access_.RequireReachable(charger);
    const double limit_w = KilowattsToWatts(kw);
    sender_.Send(
        charger, BuildStationMaxProfile(limit_w, clock_.Now()), who.key_id,
        CallBudget(*context, timeout_),
        [this, reactor, response, charger_id,
         limit_w](TypedReply<v201::SetChargingProfileResponse> reply) {
          Guard(reactor, "SetChargingLimit", [&] {
            const auto action = v201::SetChargingProfileRequest::kAction;
            const bool call_error = reply.raw.outcome == CommandOutcome::kCallError;
            if (!reply.response && !call_error) {
              return reactor->Finish(Failure(charger_id, action, reply.raw));
            }
            // What the charger said is recorded, a CALLERROR included.
            const bool accepted = reply.response && reply.response->status ==
                                                        v201::ChargingProfileStatusEnum::kAccepted;
            stores_.charging_profiles.Record(
                charger_id, kStationMaxProfileId, 0, kStationMaxProfilePurpose, limit_w,
                reply.response ? std::string(v201::ToString(reply.response->status)) : "CALLERROR",
                accepted);
            if (!reply.response) return reactor->Finish(Failure(charger_id, action, reply.raw));
            if (!accepted) {
              return reactor->Finish(
                  Refused(charger_id, action, RefusalReason(reply.response->status_info)));
            }
            CSMS_LOG(kInfo, kComponent)
                << "charger " << log::Sanitize(charger_id) << " limited to " << limit_w << " W";
            response->set_charger_id(charger_id);
            response->set_current_power_kw(limit_w / 1000.0);
            response->set_charging_profile_id(kStationMaxProfileId);
            reactor->Finish(grpc::Status::OK);
          });
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* ChargingCommands::RotateChargerPassword(
    grpc::CallbackServerContext* context, const v1::RotateChargerPasswordRequest* request,
    v1::RotateChargerPasswordResponse* response) {
  auto* reactor = context->DefaultReactor();
  Guard(reactor, "RotateChargerPassword", [&] {
    const auth::Principal who =
        AuthorizeCaller(auth_, *context, auth::Role::kOperate, "RotateChargerPassword");
    const std::string charger_id = request->charger_id();
    RequireStationIdentity(charger_id);
    auto credentials = stores_.credentials.Find(charger_id);
    if (!credentials) {
      throw RpcError(StatusCode::NOT_FOUND, "charger " + charger_id + " is not provisioned");
    }
    if (credentials->security_profile != 1 && credentials->security_profile != 2) {
      throw RpcError(StatusCode::FAILED_PRECONDITION,
                     "charger " + charger_id + " uses security profile " +
                         std::to_string(credentials->security_profile) + ", which has no password");
    }
    const ChargerRecord charger = access_.Require(charger_id);
    access_.RequireReachable(charger);
    const std::string password =
        request->password().empty() ? RandomStationPassword() : request->password();
    const std::string new_hash = HashCheckedPassword(password);
    // Stored before it is sent: the charger may reconnect with it before its answer reaches us.
    // The old one stays valid for the grace period in case the answer never comes.
    if (!stores_.credentials.RotatePassword(charger_id, new_hash, password_grace_)) {
      throw RpcError(StatusCode::FAILED_PRECONDITION,
                     "charger " + charger_id + " is no longer on a password profile");
    }
    sender_.Send(
        charger, PasswordChange(password), who.key_id, CallBudget(*context, timeout_),
        [this, reactor, response, charger_id,
         new_hash](TypedReply<v201::SetVariablesResponse> reply) {
          Guard(reactor, "RotateChargerPassword", [&] {
            const bool call_error = reply.raw.outcome == CommandOutcome::kCallError;
            if (!reply.response && !call_error) {
              // Not delivered, or no usable answer: the charger may or may not have the new
              // password, so both stay valid until the grace period ends.
              return reactor->Finish(CommandFailure("SetVariables", reply.raw));
            }
            const std::string status = call_error ? "CALLERROR " + reply.raw.error_code
                                                  : SetVariableStatus(*reply.response);
            if (status != "Accepted") {
              stores_.credentials.RevertPassword(charger_id, new_hash);
              return reactor->Finish(
                  CommandError(StatusCode::FAILED_PRECONDITION, "rejected",
                               "charger " + charger_id + " did not take the new password (" +
                                   log::Sanitize(status, 80) + "); the old one stays"));
            }
            CSMS_LOG(kInfo, kComponent) << "charger " << log::Sanitize(charger_id)
                                        << " took a new password; the old one is valid for "
                                        << password_grace_.count() << " s more";
            response->set_status(status);
            *response->mutable_previous_valid_until() = ToProto(clock_.Now() + password_grace_);
            reactor->Finish(grpc::Status::OK);
          });
        });
  });
  return reactor;
}

}  // namespace csms::control
