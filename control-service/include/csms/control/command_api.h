#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "csms/common/api_auth.h"
#include "csms/control/charger_access.h"
#include "csms/control/command_log_store.h"
#include "csms/control/command_sender.h"
#include "csms/control/message_limits.h"
#include "csms/control/operator_call.h"
#include "csms/control/v1/control.grpc.pb.h"

namespace csms::control {

namespace v1 = csms::control::v1;

// The operator's command methods of ControlService, on the gRPC callback API: the generic
// SendOcppCall, the typed commands and the command log. They share one path (Run): who is
// asking, which charger, the request, CommandSender, and the mapping of every outcome to a
// status whose details carry the REST error code (DESIGN.md, operator API conventions).
class CommandApi {
 public:
  // `auth` may be disabled (open mode: every caller may do everything).
  CommandApi(const ChargerAccess& access, CommandSender& sender, CommandLogStore& log,
             MessageLimitsStore& limits, auth::Authenticator& auth,
             std::chrono::milliseconds timeout)
      : access_(access),
        sender_(sender),
        log_(log),
        limits_(limits),
        auth_(auth),
        timeout_(timeout) {}

  grpc::ServerUnaryReactor* SendOcppCall(grpc::CallbackServerContext* context,
                                         const v1::SendOcppCallRequest* request,
                                         v1::SendOcppCallResponse* response);
  grpc::ServerUnaryReactor* ResetCharger(grpc::CallbackServerContext* context,
                                         const v1::ResetChargerRequest* request,
                                         v1::CommandStatus* response);
  grpc::ServerUnaryReactor* ChangeAvailability(grpc::CallbackServerContext* context,
                                               const v1::ChangeAvailabilityRequest* request,
                                               v1::CommandStatus* response);
  grpc::ServerUnaryReactor* UnlockConnector(grpc::CallbackServerContext* context,
                                            const v1::UnlockConnectorRequest* request,
                                            v1::CommandStatus* response);
  grpc::ServerUnaryReactor* TriggerMessage(grpc::CallbackServerContext* context,
                                           const v1::TriggerMessageRequest* request,
                                           v1::CommandStatus* response);
  grpc::ServerUnaryReactor* ClearCache(grpc::CallbackServerContext* context,
                                       const v1::ClearCacheRequest* request,
                                       v1::CommandStatus* response);
  grpc::ServerUnaryReactor* GetVariables(grpc::CallbackServerContext* context,
                                         const v1::GetVariablesRequest* request,
                                         v1::GetVariablesResponse* response);
  grpc::ServerUnaryReactor* SetVariables(grpc::CallbackServerContext* context,
                                         const v1::SetVariablesRequest* request,
                                         v1::SetVariablesResponse* response);
  grpc::ServerUnaryReactor* GetTransactionStatus(grpc::CallbackServerContext* context,
                                                 const v1::GetTransactionStatusRequest* request,
                                                 v1::GetTransactionStatusResponse* response);
  grpc::ServerUnaryReactor* DataTransfer(grpc::CallbackServerContext* context,
                                         const v1::DataTransferRequest* request,
                                         v1::DataTransferResponse* response);
  grpc::ServerUnaryReactor* ListCommands(grpc::CallbackServerContext* context,
                                         const v1::ListCommandsRequest* request,
                                         v1::ListCommandsResponse* response);

 private:
  // Checks the caller, finds the charger, builds the OCPP request (`build` may throw RpcError),
  // splits it into CALLs (`split`, one CALL unless given), sends them one after another and
  // hands the answers to `render` (one answer, or all of them in order); any failure finishes
  // the call with its status.
  template <typename OcppRequest, typename Response, typename Build, typename Render,
            typename Split = std::nullptr_t>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const std::string& charger_id,
                                const char* method, Response* response, Build build, Render render,
                                Split split = nullptr);

  const ChargerAccess& access_;
  CommandSender& sender_;
  CommandLogStore& log_;
  MessageLimitsStore& limits_;
  auth::Authenticator& auth_;
  std::chrono::milliseconds timeout_;
};

}  // namespace csms::control
