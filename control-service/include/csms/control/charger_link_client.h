#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "csms/gateway/v1/charger_link.grpc.pb.h"

namespace csms::control {

// Sends CALLs through ChargerLink.Call on the gateway that holds a charger's connection. One
// channel per gateway address, created on first use and shared by all threads.
class ChargerLinkClient {
 public:
  // Sends one CALL without blocking: `done` runs once, on a gRPC thread, with the gateway's status
  // (NOT_FOUND: not connected there; DEADLINE_EXCEEDED: no answer) and response.
  void CallAsync(
      const std::string& gateway_address, const std::string& charger_id, const std::string& action,
      const std::string& payload_json, std::chrono::milliseconds timeout,
      std::function<void(const grpc::Status&, const csms::gateway::v1::CallResponse&)> done);
  // Asks a gateway to close one connection of a charger; best effort, never blocks.
  void DisconnectAsync(const std::string& gateway_address, const std::string& charger_id,
                       const std::string& connection_id, const std::string& reason);

 private:
  csms::gateway::v1::ChargerLink::Stub& StubFor(const std::string& address);

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<csms::gateway::v1::ChargerLink::Stub>> stubs_;
};

}  // namespace csms::control
