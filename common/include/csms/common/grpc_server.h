#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

namespace csms {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards, so
// WaitForShutdownSignal can take them synchronously. Call first thing in main.
void BlockShutdownSignals();
// Returns the signal number once SIGTERM or SIGINT arrives.
int WaitForShutdownSignal();

// Builds a gRPC server with server reflection and grpc.health.v1.Health enabled, listening on
// `listen` (host:port). Each name in `health_names` is reported SERVING (plus the overall "").
// Returns nullptr and logs when the port cannot be bound.
std::unique_ptr<grpc::Server> StartGrpcServer(const std::string& listen,
                                              const std::vector<grpc::Service*>& services,
                                              const std::vector<std::string>& health_names,
                                              const char* component);

// Channel options shared by every internal client: keepalive and reconnect backoff.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

}  // namespace csms
