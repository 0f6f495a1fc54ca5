#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "csms/common/config.h"

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

// --grpc-tls-cert, --grpc-tls-key (this process's gRPC server speaks TLS) and --grpc-tls-ca
// (its channels speak TLS and trust that CA), with their environment variables.
std::vector<FlagSpec> GrpcTlsFlags();
// `specs` followed by GrpcTlsFlags().
std::vector<FlagSpec> WithGrpcTlsFlags(std::vector<FlagSpec> specs);
// Applies the GrpcTlsFlags to StartGrpcServer and MakeChannel; call before either. Exits (2)
// when a file cannot be read or only one of cert and key is given.
void ConfigureGrpcTlsOrExit(const Config& config, const char* component);

// Every call on a MakeChannel channel presents `authorization: Bearer <token>` (the service
// token) unless the call set its own; "" stops it. Set before the first call.
void SetOutgoingBearerToken(const std::string& token);

// Channel options shared by every internal client: keepalive and reconnect backoff.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

}  // namespace csms
