#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "csms/control/v1/log_uploads.grpc.pb.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {

// The gateway's end of a log upload (GetLog): the HTTP server takes the charger's PUT or POST to
// /log-uploads/{token}[/{filename}] and hands the file here; it goes to control in 1 MiB chunks
// (LogUploadService.StoreLogUploadChunk), so PostgreSQL holds it and any gateway serves it.
class LogUploadReceiver {
 public:
  struct Options {
    size_t max_bytes = 32 * 1024 * 1024;  // larger files are refused with 413
    int max_concurrent = 16;              // uploads at once in this gateway; more get 503
  };
  struct Upload {
    std::string token, filename, content_type, client_address, data;
  };
  using Respond = std::function<void(HttpResponse)>;

  LogUploadReceiver(std::shared_ptr<grpc::Channel> control, Options options);
  const Options& options() const { return options_; }

  // A slot for one upload; false when max_concurrent are running. End() frees it.
  bool TryBegin();
  void End();

  // Completes with nullopt when the token opens an upload, else with the answer to give (404,
  // 503). Runs `done` on a gRPC thread.
  void Open(const std::string& token, std::function<void(std::optional<HttpResponse>)> done);
  // Stores the file and answers 201 {"status":"stored","upload_id","size_bytes","sha256"}, or
  // the error. Runs `respond` on a gRPC thread.
  void Store(std::shared_ptr<const Upload> upload, Respond respond);

 private:
  void StoreFrom(std::shared_ptr<const Upload> upload, std::string attempt, size_t offset,
                 int32_t seq, Respond respond);

  std::unique_ptr<control::v1::LogUploadService::Stub> control_;
  Options options_;
  std::atomic<int> running_{0};
};

}  // namespace csms::gateway
