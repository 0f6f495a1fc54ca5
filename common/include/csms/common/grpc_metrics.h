#pragma once

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "csms/common/metrics.h"

namespace csms {

// grpc_server_handled_total{grpc_service,grpc_method,grpc_code} and
// grpc_server_handling_seconds{grpc_service,grpc_method} (the names go-grpc-prometheus uses),
// measured from the start of each RPC to its status.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeServerMetricsInterceptor(
    metrics::Registry& registry = metrics::Registry::Default());

// grpc_client_handled_total and grpc_client_handling_seconds, the same labels, for every call
// made through a channel built with it (MakeChannel does).
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> MakeClientMetricsInterceptor(
    metrics::Registry& registry = metrics::Registry::Default());

}  // namespace csms
