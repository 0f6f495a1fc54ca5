#include "csms/control/charger_link_client.h"

#include "csms/common/grpc_async.h"
#include "csms/common/grpc_server.h"
#include "csms/common/log.h"
#include "csms/control/rpc_status.h"

namespace csms::control {
namespace {

constexpr const char* kComponent = "control";
// The gateway times the charger out itself and reports DEADLINE_EXCEEDED; the gRPC deadline
// leaves it this much room to say so before we give up on the gateway.
constexpr auto kGatewaySlack = std::chrono::seconds(2);

}  // namespace

void ChargerLinkClient::CallAsync(
    const std::string& gateway_address, const std::string& charger_id, const std::string& action,
    const std::string& payload_json, std::chrono::milliseconds timeout,
    std::function<void(const grpc::Status&, const csms::gateway::v1::CallResponse&)> done) {
  if (gateway_address.empty()) {
    return done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no gateway address recorded"),
                csms::gateway::v1::CallResponse());
  }
  csms::gateway::v1::CallRequest request;
  request.set_charger_id(charger_id);
  request.set_action(action);
  request.set_payload_json(payload_json);
  request.set_timeout_ms(static_cast<int32_t>(timeout.count()));
  auto& stub = StubFor(gateway_address);
  CallUnaryAsync<csms::gateway::v1::CallRequest, csms::gateway::v1::CallResponse>(
      [&stub](auto* ctx, auto* req, auto* resp, auto cb) {
        stub.async()->Call(ctx, req, resp, std::move(cb));
      },
      std::move(request),
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout + kGatewaySlack),
      std::move(done));
}

csms::gateway::v1::ChargerLink::Stub& ChargerLinkClient::StubFor(const std::string& address) {
  std::lock_guard lock(mu_);
  auto& stub = stubs_[address];
  if (!stub) stub = csms::gateway::v1::ChargerLink::NewStub(MakeChannel(address));
  return *stub;
}

void ChargerLinkClient::DisconnectAsync(const std::string& gateway_address,
                                        const std::string& charger_id,
                                        const std::string& connection_id,
                                        const std::string& reason) {
  if (gateway_address.empty()) return;
  csms::gateway::v1::DisconnectRequest request;
  request.set_charger_id(charger_id);
  request.set_connection_id(connection_id);
  request.set_reason(reason);
  auto& stub = StubFor(gateway_address);
  CallUnaryAsync<csms::gateway::v1::DisconnectRequest, csms::gateway::v1::DisconnectResponse>(
      [&stub](auto* ctx, auto* req, auto* resp, auto cb) {
        stub.async()->Disconnect(ctx, req, resp, std::move(cb));
      },
      std::move(request), std::chrono::seconds(5),
      [charger_id, connection_id, gateway_address](
          const grpc::Status& status, const csms::gateway::v1::DisconnectResponse& response) {
        // A gateway that is gone has closed the connection anyway.
        CSMS_LOG(kInfo, kComponent)
            << "asked " << gateway_address << " to close " << log::Sanitize(charger_id)
            << " connection " << log::Sanitize(connection_id) << ": "
            << (status.ok() ? (response.closed() ? "closed" : "not held there")
                            : "gateway unreachable");
      });
}

}  // namespace csms::control
