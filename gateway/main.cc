// csms-gateway: the OCPP WebSocket edge, REST API and ChargerLink.
#include "csms/common/api_auth.h"
#include "csms/common/grpc_server.h"
#include "csms/common/log.h"
#include "csms/gateway/gateway_app.h"

int main(int argc, char** argv) {
  if (auto code = csms::auth::MaybeMintApiKey(argc, argv)) return *code;
  csms::BlockShutdownSignals();
  auto config = csms::ParseConfigOrExit(
      argc, argv, "csms-gateway",
      "OCPP 2.0.1 WebSocket gateway: terminates charger connections, forwards normalized events "
      "to control and billing over gRPC, serves the REST API.",
      csms::WithGrpcTlsFlags(csms::auth::WithApiAuthFlags(csms::gateway::GatewayFlags())));
  csms::ConfigureGrpcTlsOrExit(config, "gateway");
  if (!csms::log::SetLevel(config.Get("log-level"))) {
    std::fprintf(stderr, "--log-level must be debug, info, warn or error\n");
    return 2;
  }
  try {
    return csms::gateway::RunGateway(config);
  } catch (const std::exception& e) {
    CSMS_LOG(kError, "gateway") << "fatal: " << e.what();
    return 1;
  }
}
