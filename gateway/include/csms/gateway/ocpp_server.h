#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "csms/gateway/backend.h"
#include "csms/gateway/call_router.h"
#include "csms/gateway/connection_registry.h"
#include "csms/gateway/frame_trace.h"
#include "csms/gateway/io_context_pool.h"
#include "csms/gateway/tls_context.h"

namespace csms::gateway {

struct OcppServerOptions {
  // Larger frames close the connection with 1009. 1 MiB: a NotifyReport part or a
  // TransactionEvent with a long offline meter history legitimately carries hundreds of KiB. A
  // connection holds a buffer this large only while it reads such a frame.
  size_t max_message_bytes = 1024 * 1024;
  std::chrono::seconds handshake_timeout{15};
  // No traffic for this long closes the connection; a ping goes out at half of it.
  std::chrono::seconds idle_timeout{90};
  size_t max_outbound_queue = 512;  // frames waiting for a slow reader before it is closed
  size_t max_queued_calls = 64;     // CSMS-initiated CALLs waiting per charger
  // Open charger connections this process accepts; more are refused with HTTP 503 so a
  // load balancer sends them to another gateway.
  size_t max_connections = 50000;
  // Station authentication before the upgrade (OCPP security profile 1). Provisioned chargers
  // must always meet their profile; when required, unknown chargers are refused (404) too.
  bool station_auth_required = false;
  // Failed handshakes per client address: this many at once, then one per refill interval; more
  // are refused with 429.
  int auth_failure_burst = 10;
  std::chrono::milliseconds auth_failure_refill{2000};
  // Where this gateway's chargers reach its HTTP port (--public-base-url), told to control with
  // each connect so log upload URLs point here; "" = none.
  std::string public_base_url;
};

// The OCPP-J WebSocket edge: accepts chargers, negotiates ocpp2.0.1, reads frames, hands CALLs to
// the router and delivers CSMS CALLs one at a time.
class OcppServer {
 public:
  // Connections are spread over the pool's contexts; the acceptor runs on the first.
  OcppServer(IoContextPool& pool, CallRouter& router, Backend& backend,
             ConnectionRegistry& registry, std::string advertise_address, OcppServerOptions options,
             FrameTrace* trace = nullptr);
  ~OcppServer();

  // Binds host:port. Returns false with a message when it cannot.
  bool Listen(const std::string& host_port, std::string* error);
  // Binds the wss:// port (security profiles 2 and 3) with certificates from `tls`.
  bool ListenTls(const std::string& host_port, std::shared_ptr<TlsContextSource> tls,
                 std::string* error);
  // Stops accepting and closes every charger connection with 1001 (going away), spread over
  // `drain` so that the chargers' reconnects to other gateways do not all land at once.
  void Shutdown(std::chrono::milliseconds drain = std::chrono::milliseconds(0));

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace csms::gateway
