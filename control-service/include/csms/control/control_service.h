#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "csms/common/api_auth.h"
#include "csms/common/time_util.h"
#include "csms/control/charger_access.h"
#include "csms/control/charger_link_client.h"
#include "csms/control/charging_commands.h"
#include "csms/control/command_api.h"
#include "csms/control/decisions.h"
#include "csms/control/device_model_api.h"
#include "csms/control/firmware_api.h"
#include "csms/control/stores.h"
#include "csms/control/v1/control.grpc.pb.h"
#include "csms/control/waiter.h"

namespace csms::control {

namespace v1cs = csms::control::v1;

// The charging commands (ChargingCommands) on the callback API.
using ChargingCallbackMethods = v1cs::ControlService::WithCallbackMethod_StartTransaction<
    v1cs::ControlService::WithCallbackMethod_StopTransaction<
        v1cs::ControlService::WithCallbackMethod_SetChargingLimit<
            v1cs::ControlService::WithCallbackMethod_RotateChargerPassword<
                v1cs::ControlService::WithCallbackMethod_RequestReport<
                    v1cs::ControlService::WithCallbackMethod_ListVariables<
                        v1cs::ControlService::WithCallbackMethod_UpdateFirmware<
                            v1cs::ControlService::WithCallbackMethod_ListFirmwareJobs<
                                v1cs::ControlService::Service>>>>>>>>;

// ControlService with the command methods on the callback API (a command waiting for its
// charger holds no thread) and the registry methods still synchronous.
using ControlServiceBase = v1cs::ControlService::WithCallbackMethod_SendOcppCall<
    v1cs::ControlService::WithCallbackMethod_ResetCharger<
        v1cs::ControlService::WithCallbackMethod_ChangeAvailability<
            v1cs::ControlService::WithCallbackMethod_UnlockConnector<
                v1cs::ControlService::WithCallbackMethod_TriggerMessage<
                    v1cs::ControlService::WithCallbackMethod_ClearCache<
                        v1cs::ControlService::WithCallbackMethod_GetVariables<
                            v1cs::ControlService::WithCallbackMethod_SetVariables<
                                v1cs::ControlService::WithCallbackMethod_GetTransactionStatus<
                                    v1cs::ControlService::WithCallbackMethod_DataTransfer<
                                        v1cs::ControlService::WithCallbackMethod_ListCommands<
                                            ChargingCallbackMethods>>>>>>>>>>>;

// Declares the command methods of ControlServiceBase as overrides that forward to `target` (a
// CommandApi pointer; null answers UNIMPLEMENTED).
#define CSMS_CONTROL_COMMAND_METHODS(target)                                                  \
  CSMS_FORWARD_CALLBACK(target, SendOcppCall, SendOcppCallRequest, SendOcppCallResponse)      \
  CSMS_FORWARD_CALLBACK(target, ResetCharger, ResetChargerRequest, CommandStatus)             \
  CSMS_FORWARD_CALLBACK(target, ChangeAvailability, ChangeAvailabilityRequest, CommandStatus) \
  CSMS_FORWARD_CALLBACK(target, UnlockConnector, UnlockConnectorRequest, CommandStatus)       \
  CSMS_FORWARD_CALLBACK(target, TriggerMessage, TriggerMessageRequest, CommandStatus)         \
  CSMS_FORWARD_CALLBACK(target, ClearCache, ClearCacheRequest, CommandStatus)                 \
  CSMS_FORWARD_CALLBACK(target, GetVariables, GetVariablesRequest, GetVariablesResponse)      \
  CSMS_FORWARD_CALLBACK(target, SetVariables, SetVariablesRequest, SetVariablesResponse)      \
  CSMS_FORWARD_CALLBACK(target, GetTransactionStatus, GetTransactionStatusRequest,            \
                        GetTransactionStatusResponse)                                         \
  CSMS_FORWARD_CALLBACK(target, DataTransfer, DataTransferRequest, DataTransferResponse)      \
  CSMS_FORWARD_CALLBACK(target, ListCommands, ListCommandsRequest, ListCommandsResponse)

// The same for the charging commands, forwarded to a ChargingCommands pointer.
#define CSMS_CONTROL_CHARGING_METHODS(target)                                                     \
  CSMS_FORWARD_CALLBACK(target, StartTransaction, StartTransactionRequest,                        \
                        StartTransactionResponse)                                                 \
  CSMS_FORWARD_CALLBACK(target, StopTransaction, StopTransactionRequest, StopTransactionResponse) \
  CSMS_FORWARD_CALLBACK(target, SetChargingLimit, SetChargingLimitRequest,                        \
                        SetChargingLimitResponse)                                                 \
  CSMS_FORWARD_CALLBACK(target, RotateChargerPassword, RotateChargerPasswordRequest,              \
                        RotateChargerPasswordResponse)

// The device model's methods, forwarded to a DeviceModelApi pointer.
#define CSMS_CONTROL_DEVICE_MODEL_METHODS(target)                                           \
  CSMS_FORWARD_CALLBACK(target, RequestReport, RequestReportRequest, RequestReportResponse) \
  CSMS_FORWARD_CALLBACK(target, ListVariables, ListVariablesRequest, ListVariablesResponse)

// The firmware jobs, forwarded to a FirmwareApi pointer.
#define CSMS_CONTROL_FIRMWARE_METHODS(target)                                                  \
  CSMS_FORWARD_CALLBACK(target, UpdateFirmware, UpdateFirmwareRequest, UpdateFirmwareResponse) \
  CSMS_FORWARD_CALLBACK(target, ListFirmwareJobs, ListFirmwareJobsRequest, ListFirmwareJobsResponse)

#define CSMS_FORWARD_CALLBACK(target, Method, Request, Response)                        \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context,                \
                                   const ::csms::control::v1::Request* request,         \
                                   ::csms::control::v1::Response* response) override {  \
    if ((target) == nullptr) {                                                          \
      auto* reactor = context->DefaultReactor();                                        \
      reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no command API")); \
      return reactor;                                                                   \
    }                                                                                   \
    return (target)->Method(context, request, response);                                \
  }

// The public API: charger registry queries and commands sent to chargers through their gateway.
// The command methods are the CommandApi's (set_commands); the rest are here.
class ControlServiceImpl final : public ControlServiceBase {
 public:
  // command_timeout bounds each command from request to the charger's confirming event.
  // `auth` null: open mode (the charging commands then record the caller as given on behalf of,
  // or "anonymous").
  ControlServiceImpl(ControlStores& stores, ChargerLinkClient& link, EventWaiter& waiter,
                     std::chrono::milliseconds command_timeout,
                     auth::Authenticator* auth = nullptr);

  // A charger counted as connected but silent for longer than this is shown Offline and sent
  // nothing: its gateway died without reporting the disconnect (crash, lost network), and no
  // other gateway has it yet. Zero: trust the connection flag alone.
  void set_offline_after(std::chrono::milliseconds silence) { access_.set_offline_after(silence); }
  // Lookups and the reachability rule, shared with the command API.
  const ChargerAccess& access() const { return access_; }

  grpc::Status GetCharger(grpc::ServerContext* context,
                          const csms::control::v1::GetChargerRequest* request,
                          csms::control::v1::Charger* response) override;
  grpc::Status ListChargers(grpc::ServerContext* context,
                            const csms::control::v1::ListChargersRequest* request,
                            csms::control::v1::ListChargersResponse* response) override;
  grpc::Status ListStations(grpc::ServerContext* context,
                            const csms::control::v1::ListStationsRequest* request,
                            csms::control::v1::ListStationsResponse* response) override;
  grpc::Status GetStation(grpc::ServerContext* context,
                          const csms::control::v1::GetStationRequest* request,
                          csms::control::v1::Station* response) override;
  grpc::Status CreateStation(grpc::ServerContext* context,
                             const csms::control::v1::CreateStationRequest* request,
                             csms::control::v1::Station* response) override;
  grpc::Status UpdateStation(grpc::ServerContext* context,
                             const csms::control::v1::UpdateStationRequest* request,
                             csms::control::v1::Station* response) override;
  grpc::Status DeleteStation(grpc::ServerContext* context,
                             const csms::control::v1::DeleteStationRequest* request,
                             csms::control::v1::DeleteStationResponse* response) override;
  grpc::Status AssignCharger(grpc::ServerContext* context,
                             const csms::control::v1::AssignChargerRequest* request,
                             csms::control::v1::AssignChargerResponse* response) override;
  grpc::Status CreateCharger(grpc::ServerContext* context,
                             const csms::control::v1::CreateChargerRequest* request,
                             csms::control::v1::ChargerSecurity* response) override;
  grpc::Status UpdateChargerSecurity(grpc::ServerContext* context,
                                     const csms::control::v1::UpdateChargerSecurityRequest* request,
                                     csms::control::v1::ChargerSecurity* response) override;
  grpc::Status DeleteCharger(grpc::ServerContext* context,
                             const csms::control::v1::DeleteChargerRequest* request,
                             csms::control::v1::DeleteChargerResponse* response) override;
  grpc::Status GetChargerSecurity(grpc::ServerContext* context,
                                  const csms::control::v1::GetChargerSecurityRequest* request,
                                  csms::control::v1::ChargerSecurity* response) override;

  // The charger's event log; errors carry the REST code in their details, as ListCommands'.
  grpc::Status ListChargerEvents(grpc::ServerContext* context,
                                 const csms::control::v1::ListChargerEventsRequest* request,
                                 csms::control::v1::ListChargerEventsResponse* response) override;

  // The command methods (SendOcppCall, the typed commands, ListCommands); must be set before
  // the server starts.
  void set_commands(CommandApi* commands) { commands_ = commands; }
  CommandApi* command_api() { return commands_; }
  CSMS_CONTROL_COMMAND_METHODS(commands_)

  // The one outbound path, shared with the command API.
  CommandSender& sender() { return sender_; }
  ChargingCommands* charging() { return &charging_; }
  CSMS_CONTROL_CHARGING_METHODS(&charging_)
  DeviceModelApi* device_model() { return &device_model_; }
  CSMS_CONTROL_DEVICE_MODEL_METHODS(&device_model_)
  FirmwareApi* firmware() { return &firmware_; }
  CSMS_CONTROL_FIRMWARE_METHODS(&firmware_)

  // How long the password before a rotation stays valid (OCPP A01).
  void set_password_grace(std::chrono::seconds grace) { charging_.set_password_grace(grace); }

 private:
  ChargerRecord RequireCharger(const std::string& charger_id);
  // The record's connection flag, unless the charger has been silent past offline_after_.
  bool IsLive(const ChargerRecord& charger) const;

  ControlStores& stores_;
  ChargerAccess access_;
  CommandSender sender_;
  ChargingCommands charging_;
  DeviceModelApi device_model_;
  FirmwareApi firmware_;
  CommandApi* commands_ = nullptr;
};

// Fills the public view of a charger, status derived by DeriveChargerStatus; `live` is whether
// it counts as connected (ControlServiceImpl::IsLive).
void FillCharger(const ChargerRecord& record, bool live, csms::control::v1::Charger* out);
void FillStation(const StationRecord& record, csms::control::v1::Station* out);

}  // namespace csms::control
