#pragma once

#include "csms/gateway/connection_registry.h"
#include "csms/gateway/v1/charger_link.grpc.pb.h"

namespace csms::gateway {

// gRPC ChargerLink: control delivers a CALL to a charger held by this gateway and gets the
// charger's CALLRESULT or CALLERROR back. Never blocks a gRPC thread while the charger thinks.
class ChargerLinkService final : public gateway::v1::ChargerLink::CallbackService {
 public:
  explicit ChargerLinkService(ConnectionRegistry& registry) : registry_(registry) {}

  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const gateway::v1::CallRequest* request,
                                 gateway::v1::CallResponse* response) override;
  grpc::ServerUnaryReactor* Disconnect(grpc::CallbackServerContext* context,
                                       const gateway::v1::DisconnectRequest* request,
                                       gateway::v1::DisconnectResponse* response) override;

 private:
  ConnectionRegistry& registry_;
};

}  // namespace csms::gateway
