#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "csms/common/api_auth.h"
#include "csms/control/charger_access.h"
#include "csms/control/command_sender.h"
#include "csms/control/device_model_store.h"
#include "csms/control/log_upload_store.h"
#include "csms/control/v1/log_uploads.grpc.pb.h"

namespace csms::control {

// csms.control.v1.LogUploadService on the gRPC callback API (log_uploads.proto). Every method
// checks its caller itself (operator_call.h AuthorizeCaller), so no key-checking wrapper sits in
// front: DiagnosticsLog operate / read, SecurityLog admin, the gateway's methods service.
class LogUploadServiceImpl final : public v1::LogUploadService::CallbackService {
 public:
  struct Options {
    std::chrono::seconds token_ttl{24 * 3600};
    std::chrono::milliseconds call_timeout{30000};
  };
  // `auth` null or disabled: open mode.
  LogUploadServiceImpl(const ChargerAccess& access, LogUploadStore& store,
                       DeviceModelStore& device_model, CommandSender& sender,
                       auth::Authenticator* auth, Options options)
      : access_(access),
        store_(store),
        device_model_(device_model),
        sender_(sender),
        auth_(auth),
        options_(options) {}

  grpc::ServerUnaryReactor* RequestLogUpload(grpc::CallbackServerContext* context,
                                             const v1::RequestLogUploadRequest* request,
                                             v1::RequestLogUploadResponse* response) override;
  grpc::ServerUnaryReactor* ListLogUploads(grpc::CallbackServerContext* context,
                                           const v1::ListLogUploadsRequest* request,
                                           v1::ListLogUploadsResponse* response) override;
  grpc::ServerUnaryReactor* GetLogUpload(grpc::CallbackServerContext* context,
                                         const v1::GetLogUploadRequest* request,
                                         v1::LogUpload* response) override;
  grpc::ServerUnaryReactor* ReadLogUpload(grpc::CallbackServerContext* context,
                                          const v1::ReadLogUploadRequest* request,
                                          v1::ReadLogUploadResponse* response) override;
  grpc::ServerUnaryReactor* OpenLogUpload(grpc::CallbackServerContext* context,
                                          const v1::OpenLogUploadRequest* request,
                                          v1::OpenLogUploadResponse* response) override;
  grpc::ServerUnaryReactor* StoreLogUploadChunk(grpc::CallbackServerContext* context,
                                                const v1::StoreLogUploadChunkRequest* request,
                                                v1::StoreLogUploadChunkResponse* response) override;

 private:
  // The upload, readable by the caller: a SecurityLog needs admin.
  v1::LogUpload ReadableUpload(const grpc::CallbackServerContext& context,
                               const std::string& charger_id, int64_t upload_id,
                               const char* method);
  // The caller is a gateway (service role) unless keys are off.
  void RequireGateway(const grpc::CallbackServerContext& context, const char* method);
  // Why the stored device model says the charger cannot upload over HTTP(S); "" when it can or
  // the model does not say.
  std::string HttpUploadWarning(const std::string& charger_id);

  const ChargerAccess& access_;
  LogUploadStore& store_;
  DeviceModelStore& device_model_;
  CommandSender& sender_;
  auth::Authenticator* auth_;
  Options options_;
};

}  // namespace csms::control
