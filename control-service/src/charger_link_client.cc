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

grpc::Status MapLinkFailure(const std::string& charger_id, const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return {grpc::StatusCode::FAILED_PRECONDITION, "charger " + charger_id + " is offline"};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "charger did not answer in time"};
    case grpc::StatusCode::UNAVAILABLE:
      return {grpc::StatusCode::UNAVAILABLE, "gateway unreachable"};
    default:
      return {grpc::StatusCode::INTERNAL, "gateway call failed: " + status.error_message()};
  }
}

LinkReply ChargerLinkClient::Call(const std::string& gateway_address, const std::string& charger_id,
                                  const std::string& action, const nlohmann::json& payload,
                                  std::chrono::steady_clock::time_point deadline) {
  if (gateway_address.empty()) {
    throw RpcError(grpc::StatusCode::UNAVAILABLE, "gateway unreachable (no address recorded)");
  }
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (remaining.count() <= 0) {
    throw RpcError(grpc::StatusCode::DEADLINE_EXCEEDED, "charger did not answer in time");
  }
  csms::gateway::v1::CallRequest request;
  request.set_charger_id(charger_id);
  request.set_action(action);
  request.set_payload_json(payload.dump());
  request.set_timeout_ms(static_cast<int32_t>(remaining.count()));

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + remaining + kGatewaySlack);
  csms::gateway::v1::CallResponse response;
  grpc::Status status = StubFor(gateway_address).Call(&context, request, &response);
  if (!status.ok()) {
    CSMS_LOG(kWarn, kComponent) << action << " to " << log::Sanitize(charger_id) << " via "
                                << gateway_address << " failed: " << status.error_code() << " "
                                << log::Sanitize(status.error_message());
    throw RpcError(MapLinkFailure(charger_id, status));
  }

  LinkReply reply;
  if (response.has_invalid_reply()) {
    // An answer off its schema cannot be read as one: the command did not succeed.
    reply.call_error = true;
    reply.error_code = "InvalidReply";
    reply.error_description = response.invalid_reply().violation();
    return reply;
  }
  if (response.has_error()) {
    reply.call_error = true;
    reply.error_code = response.error().error_code();
    reply.error_description = response.error().description();
    return reply;
  }
  reply.result = nlohmann::json::parse(response.result_json(), nullptr, /*allow_exceptions=*/false);
  if (reply.result.is_discarded()) {
    throw RpcError(grpc::StatusCode::INTERNAL,
                   "gateway returned an unreadable " + action + " result");
  }
  return reply;
}

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
