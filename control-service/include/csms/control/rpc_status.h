#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace csms::control {

// Thrown by request handling to end an RPC with a specific status.
class RpcError : public std::runtime_error {
 public:
  RpcError(grpc::StatusCode code, const std::string& message)
      : std::runtime_error(message), status_(code, message) {}
  explicit RpcError(grpc::Status status)
      : std::runtime_error(status.error_message()), status_(std::move(status)) {}
  const grpc::Status& status() const { return status_; }

 private:
  grpc::Status status_;
};

// Turns whatever `fn` throws into the status the caller should see: RpcError as is, an
// unreachable database as UNAVAILABLE, anything else as INTERNAL (logged, message kept short).
grpc::Status RunRpc(const char* rpc, const std::function<void()>& fn);

}  // namespace csms::control
