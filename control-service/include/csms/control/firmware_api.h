#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "csms/common/api_auth.h"
#include "csms/control/charger_access.h"
#include "csms/control/command_sender.h"
#include "csms/control/firmware_job_store.h"
#include "csms/control/v1/control.grpc.pb.h"

namespace csms::control {

// Firmware updates: UpdateFirmware as a job per charger (the row written before the CALL goes,
// so the charger's first FirmwareStatusNotification finds it), admin role; ListFirmwareJobs,
// read role. The job then follows the charger's notifications in the registry batch
// (FirmwareJobStore::ApplyStatuses / ApplyBoots).
class FirmwareApi {
 public:
  // `auth` null: open mode.
  FirmwareApi(const ChargerAccess& access, FirmwareJobStore& store, CommandSender& sender,
              auth::Authenticator* auth, std::chrono::milliseconds timeout)
      : access_(access), store_(store), sender_(sender), auth_(auth), timeout_(timeout) {}

  grpc::ServerUnaryReactor* UpdateFirmware(grpc::CallbackServerContext* context,
                                           const v1::UpdateFirmwareRequest* request,
                                           v1::UpdateFirmwareResponse* response);
  grpc::ServerUnaryReactor* ListFirmwareJobs(grpc::CallbackServerContext* context,
                                             const v1::ListFirmwareJobsRequest* request,
                                             v1::ListFirmwareJobsResponse* response);

 private:
  const ChargerAccess& access_;
  FirmwareJobStore& store_;
  CommandSender& sender_;
  auth::Authenticator* auth_;
  std::chrono::milliseconds timeout_;
};

}  // namespace csms::control
