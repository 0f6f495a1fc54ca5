#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "csms/common/api_auth.h"
#include "csms/control/charger_access.h"
#include "csms/control/command_sender.h"
#include "csms/control/device_model_store.h"
#include "csms/control/v1/control.grpc.pb.h"

namespace csms::control {

// The device model's command: RequestReport (GetBaseReport / GetReport with a requestId of the
// CSMS's own, the report row written before the CALL goes so that no part finds it missing).
// On the gRPC callback API like every command.
class DeviceModelApi {
 public:
  // `auth` null: open mode.
  DeviceModelApi(const ChargerAccess& access, DeviceModelStore& store, CommandSender& sender,
                 auth::Authenticator* auth, std::chrono::milliseconds timeout)
      : access_(access), store_(store), sender_(sender), auth_(auth), timeout_(timeout) {}

  grpc::ServerUnaryReactor* RequestReport(grpc::CallbackServerContext* context,
                                          const v1::RequestReportRequest* request,
                                          v1::RequestReportResponse* response);

 private:
  const ChargerAccess& access_;
  DeviceModelStore& store_;
  CommandSender& sender_;
  auth::Authenticator* auth_;
  std::chrono::milliseconds timeout_;
};

}  // namespace csms::control
