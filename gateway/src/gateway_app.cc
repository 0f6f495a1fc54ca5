#include "csms/gateway/gateway_app.h"

#include <malloc.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "csms/common/api_auth.h"
#include "csms/common/grpc_auth.h"
#include "csms/common/grpc_server.h"
#include "csms/common/log.h"
#include "csms/common/metrics.h"
#include "csms/common/ocpp_schema.h"
#include "csms/gateway/call_router.h"
#include "csms/gateway/charger_link_service.h"
#include "csms/gateway/connection_registry.h"
#include "csms/gateway/grpc_backend.h"
#include "csms/gateway/http_server.h"
#include "csms/gateway/io_context_pool.h"
#include "csms/gateway/live_feed.h"
#include "csms/gateway/ocpp_server.h"
#include "csms/gateway/outbox.h"
#include "csms/gateway/readiness.h"
#include "csms/gateway/rest_api.h"

namespace csms::gateway {
namespace {

// Hands freed heap back to the kernel after connection churn. A reconnect storm allocates a
// gRPC call arena (about 7 KiB) per in-flight boot; glibc keeps those pages after they are
// freed, which would otherwise show up as tens of KiB of RSS per idle connection afterwards.
class MemoryTrimmer {
 public:
  MemoryTrimmer(boost::asio::io_context& io, const ConnectionRegistry& registry)
      : timer_(io), registry_(registry) {
    Schedule();
  }
  ~MemoryTrimmer() { timer_.cancel(); }

 private:
  // Checked every 5 s: trimming costs a few milliseconds of arena locking, so it runs only after
  // the number of connections changed, and otherwise every 5 minutes.
  static constexpr int kMaxChecksBetweenTrims = 60;

  void Schedule() {
    timer_.expires_after(std::chrono::seconds(5));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      const size_t now = registry_.size();
      if (now != last_size_ || ++checks_ >= kMaxChecksBetweenTrims) {
        malloc_trim(0);
        last_size_ = now;
        checks_ = 0;
      }
      Schedule();
    });
  }

  boost::asio::steady_timer timer_;
  const ConnectionRegistry& registry_;
  size_t last_size_ = 0;
  int checks_ = 0;
};

// Large frames (up to --max-message-bytes) are read into a buffer of their size, freed once the
// frame is handled. glibc would serve such buffers from the heap after the first one was freed
// (its mmap threshold rises to the largest freed mapping) and keep the pages when they are
// freed, so a burst of large frames on many connections at once would stay in RSS. A fixed
// threshold keeps every buffer of 256 KiB or more in its own mapping, returned when freed.
void KeepLargeBuffersMapped() { mallopt(M_MMAP_THRESHOLD, 256 * 1024); }

// ChargerLink carries commands to chargers (start, stop, limits): with API keys on, only the
// service role (control's token) may call it.
class AuthedChargerLink final : public gateway::v1::ChargerLink::CallbackService {
 public:
  AuthedChargerLink(ChargerLinkService& impl, auth::Authenticator& auth)
      : impl_(impl), auth_(auth) {}
  CSMS_AUTHED_CALLBACK(Call, gateway::v1::CallRequest, gateway::v1::CallResponse,
                       auth::Role::kService)
  CSMS_AUTHED_CALLBACK(Disconnect, gateway::v1::DisconnectRequest, gateway::v1::DisconnectResponse,
                       auth::Role::kService)

 private:
  ChargerLinkService& impl_;
  auth::Authenticator& auth_;
};

}  // namespace

std::vector<FlagSpec> GatewayFlags() {
  return {
      {"ocpp-listen", "CSMS_OCPP_LISTEN", "0.0.0.0:9000", "OCPP WebSocket address"},
      {"ocpp-tls-listen", "CSMS_OCPP_TLS_LISTEN", "",
       "OCPP over TLS (wss://) address for security profiles 2 and 3, e.g. 0.0.0.0:9443 "
       "(empty: off)"},
      {"ocpp-tls-cert", "CSMS_OCPP_TLS_CERT", "",
       "PEM certificate chains for the wss:// port, comma-separated, one per key type (OCPP "
       "needs an RSA and an ECDSA certificate)"},
      {"ocpp-tls-key", "CSMS_OCPP_TLS_KEY", "",
       "PEM private keys matching --ocpp-tls-cert, in the same order"},
      {"ocpp-tls-client-ca", "CSMS_OCPP_TLS_CLIENT_CA", "",
       "CA bundle that charger client certificates must chain to (security profile 3; empty: "
       "no client certificates requested)"},
      {"ocpp-tls-client-org", "CSMS_OCPP_TLS_CLIENT_ORG", "",
       "if set, a charger certificate's subject O must equal it (the operator's name)"},
      {"ocpp-tls-reload-ms", "CSMS_OCPP_TLS_RELOAD_MS", "30000",
       "how often the TLS files are checked; changed files apply to new connections"},
      {"http-listen", "CSMS_HTTP_LISTEN", "0.0.0.0:8080", "REST API and health address"},
      {"grpc-listen", "CSMS_GRPC_LISTEN", "0.0.0.0:50053", "ChargerLink gRPC address"},
      {"advertise-address", "CSMS_ADVERTISE_ADDRESS", "",
       "this gateway's ChargerLink address as control reaches it (default: 127.0.0.1:<port of "
       "--grpc-listen>)"},
      {"control-address", "CSMS_CONTROL_ADDRESS", "localhost:50051", "control-service gRPC"},
      {"billing-address", "CSMS_BILLING_ADDRESS", "localhost:50052", "billing-service gRPC"},
      {"threads", "CSMS_GATEWAY_THREADS", "2", "I/O threads"},
      {"max-message-bytes", "CSMS_MAX_MESSAGE_BYTES", "1048576",
       "largest OCPP frame accepted (1 MiB); larger ones close the connection with 1009. A "
       "connection's buffer grows to a large frame only while reading it"},
      {"handshake-timeout", "CSMS_HANDSHAKE_TIMEOUT", "15",
       "seconds a new connection may take to complete the WebSocket upgrade"},
      {"idle-timeout", "CSMS_IDLE_TIMEOUT", "90",
       "seconds without traffic before a charger is considered gone (pinged at half)"},
      {"outbox-dir", "CSMS_OUTBOX_DIR", "",
       "folder for the local journal that keeps TransactionEvents durable while billing is "
       "unreachable (empty: off; the charger then gets an error and retries)"},
      {"drain-seconds", "CSMS_DRAIN_SECONDS", "10",
       "on SIGTERM, close chargers spread over this many seconds (at least 200 a second)"},
      {"max-connections", "CSMS_MAX_CONNECTIONS", "50000",
       "charger connections this gateway holds; more are refused with 503"},
      {"trace-dir", "CSMS_TRACE_DIR", "",
       "write every OCPP frame in and out to <dir>/ocpp_<station>.jsonl (empty: off)"},
      {"trace-max-bytes", "CSMS_TRACE_MAX_BYTES", "10485760",
       "size at which a charger's trace file is rotated"},
      {"trace-files", "CSMS_TRACE_FILES", "5", "trace files kept per charger, rotated included"},
      {"validate-schemas", "CSMS_VALIDATE_SCHEMAS", "true",
       "check every OCPP payload against the OCA 2.0.1 schemas (false only to measure)"},
      {"strict", "CSMS_STRICT", "false",
       "true: accept standard OCPP 2.0.1 only, refusing the seed simulator's dialect"},
      {"station-auth", "CSMS_STATION_AUTH", "required",
       "required: only provisioned chargers connect, each with its security profile; open "
       "(demos): provisioned chargers still must meet their profile, unknown ones are admitted"},
      {"public-base-url", "CSMS_PUBLIC_BASE_URL", "",
       "where chargers reach this gateway's HTTP port, e.g. https://csms.example.com (a TLS "
       "proxy in front) or http://10.0.0.5:8080: log upload URLs (GetLog) point under it; empty: "
       "no log uploads through this gateway"},
      {"log-upload-max-bytes", "CSMS_LOG_UPLOAD_MAX_BYTES", "33554432",
       "largest log file a charger may upload (32 MiB); larger ones are refused with 413"},
      {"log-upload-max-concurrent", "CSMS_LOG_UPLOAD_MAX_CONCURRENT", "16",
       "log uploads this gateway takes at once (each is held in memory up to the size cap); "
       "more are answered 503 with Retry-After"},
      {"map-tile-url", "CSMS_MAP_TILE_URL", "",
       "dashboard map tiles, a Leaflet URL template such as "
       "https://tile.example.org/{z}/{x}/{y}.png (empty: no tiles, a plain base layer)"},
      {"map-tile-attribution", "CSMS_MAP_TILE_ATTRIBUTION", "",
       "attribution shown with the map tiles (HTML)"},
      {"service-token-file", "CSMS_SERVICE_TOKEN_FILE", "",
       "file holding this gateway's token (a key with the service role) for its calls to "
       "control and billing; empty: none"},
  };
}

int RunGateway(const Config& config) {
  KeepLargeBuffersMapped();
  std::string grpc_listen = config.Get("grpc-listen");
  std::string advertise = config.Get("advertise-address");
  if (advertise.empty()) {
    advertise = "127.0.0.1:" + grpc_listen.substr(grpc_listen.rfind(':') + 1);
  }
  OcppServerOptions ocpp_options;
  const int max_message_bytes = config.GetInt("max-message-bytes");
  if (max_message_bytes < 1024) {
    // 0 would mean "no limit" to Beast, and a negative number a huge one.
    CSMS_LOG(kError, "gateway") << "--max-message-bytes must be at least 1024";
    return 2;
  }
  ocpp_options.max_message_bytes = static_cast<size_t>(max_message_bytes);
  ocpp_options.idle_timeout = std::chrono::seconds(config.GetInt("idle-timeout"));
  ocpp_options.handshake_timeout = std::chrono::seconds(config.GetInt("handshake-timeout"));
  ocpp_options.max_connections = static_cast<size_t>(config.GetInt("max-connections"));
  ocpp_options.public_base_url = config.Get("public-base-url");
  if (const auto& url = ocpp_options.public_base_url;
      !url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    CSMS_LOG(kError, "gateway") << "--public-base-url must start with http:// or https://";
    return 2;
  }
  LogUploadReceiver::Options upload_options;
  if (config.GetInt("log-upload-max-bytes") < 1 || config.GetInt("log-upload-max-concurrent") < 1) {
    CSMS_LOG(kError, "gateway")
        << "--log-upload-max-bytes and --log-upload-max-concurrent must be positive";
    return 2;
  }
  upload_options.max_bytes = static_cast<size_t>(config.GetInt("log-upload-max-bytes"));
  upload_options.max_concurrent = config.GetInt("log-upload-max-concurrent");
  const std::string station_auth = config.Get("station-auth");
  if (station_auth != "open" && station_auth != "required") {
    CSMS_LOG(kError, "gateway") << "--station-auth must be open or required";
    return 2;
  }
  ocpp_options.station_auth_required = station_auth == "required";
  if (!ocpp_options.station_auth_required) {
    CSMS_LOG(kWarn, "gateway")
        << "--station-auth open: ANYONE who can reach the OCPP port can connect as any charger "
           "that is not provisioned; provisioned chargers must still authenticate. Use "
           "--station-auth required in production";
  }
  std::unique_ptr<FrameTrace> trace;
  if (!config.Get("trace-dir").empty()) {
    trace = std::make_unique<FrameTrace>(config.Get("trace-dir"),
                                         static_cast<size_t>(config.GetInt("trace-max-bytes")),
                                         config.GetInt("trace-files"));
    CSMS_LOG(kInfo, "gateway") << "tracing every OCPP frame to " << config.Get("trace-dir");
  }
  RouterOptions router_options;
  router_options.strict = config.Get("strict") == "true" || config.Get("strict") == "1";
  router_options.validate_schemas = config.Get("validate-schemas") != "false";
  router_options.require_provisioning = ocpp_options.station_auth_required;
  ocpp::SchemaSet::Ocpp201();  // compile the schemas now, not on the first message

  IoContextPool io_pool(static_cast<size_t>(std::max(1, config.GetInt("threads"))));
  RealClock clock;
  auto api_auth = auth::LoadAuthenticatorOrExit(config, "gateway");
  // REST callers are checked here; the gateway calls control and billing as itself.
  if (!config.Get("service-token-file").empty()) {
    SetOutgoingBearerToken(auth::ReadTokenFileOrExit(config.Get("service-token-file"), "gateway"));
  }
  auto control_channel = MakeChannel(config.Get("control-address"));
  auto billing_channel = MakeChannel(config.Get("billing-address"));
  GrpcBackend backend(control_channel, billing_channel);

  std::unique_ptr<Outbox> outbox;
  if (!config.Get("outbox-dir").empty()) {
    auto billing = billing::v1::BillingService::NewStub(billing_channel);
    outbox = std::make_unique<Outbox>(
        config.Get("outbox-dir"),
        [billing = std::shared_ptr<billing::v1::BillingService::Stub>(std::move(billing))](
            const ocpp::v1::TransactionEvent& event,
            billing::v1::RecordTransactionEventResponse* response) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          billing::v1::RecordTransactionEventRequest request;
          *request.mutable_event() = event;
          return billing->RecordTransactionEvent(&context, request, response);
        },
        [&backend](const ocpp::v1::TransactionEvent& event,
                   const billing::v1::RecordTransactionEventResponse& response) {
          backend.ReportTransactionEvent(MakeTransactionReport(event, response));
        });
    std::string error;
    if (!outbox->Open(&error)) {
      CSMS_LOG(kError, "gateway") << error;
      return 1;
    }
    outbox->Start();
    CSMS_LOG(kInfo, "gateway") << "outbox in " << config.Get("outbox-dir");
  }
  CallRouter router(backend, clock, router_options, outbox.get());
  ConnectionRegistry registry;
  OcppServer ocpp(io_pool, router, backend, registry, advertise, ocpp_options, trace.get());
  RestApi api(control_channel, billing_channel);
  // /readyz: control and billing answer their gRPC health check (cached for a second).
  Readiness readiness({{"control", "csms.control.v1.ControlService", control_channel},
                       {"billing", "csms.billing.v1.BillingService", billing_channel}});
  api.SetReadiness([&readiness](std::function<void(HttpResponse)> respond) {
    readiness.Check([respond = std::move(respond)](const Readiness::Result& result) {
      respond(HttpResponse{result.ready ? 200 : 503, result.Json(), "application/json"});
    });
  });
  auto& metrics_registry = metrics::Registry::Default();
  metrics::RegisterProcessMetrics(metrics_registry);
  metrics::ScopedCallback connected_metric(
      metrics_registry,
      metrics_registry.AddCallback("csms_gateway_connected_chargers",
                                   "Chargers with an open OCPP connection to this gateway.",
                                   metrics::Type::kGauge,
                                   [&registry] { return static_cast<double>(registry.size()); }));
  metrics::ScopedCallback outbox_metric(
      metrics_registry, metrics_registry.AddCallback(
                            "csms_gateway_outbox_depth",
                            "TransactionEvents kept in the local outbox until billing stores them.",
                            metrics::Type::kGauge, [&outbox] {
                              return outbox ? static_cast<double>(outbox->depth()) : 0.0;
                            }));
  api.SetDashboardConfig(config.Get("map-tile-url"), config.Get("map-tile-attribution"));
  LiveFeed live_feed(control_channel, LiveFeed::Options{});
  LogUploadReceiver log_uploads(control_channel, upload_options);
  HttpServer http(io_pool.Get(0), api, &live_feed, api_auth.get(), &log_uploads);
  ChargerLinkService charger_link_impl(registry);
  AuthedChargerLink charger_link(charger_link_impl, *api_auth);

  std::string error;
  if (!ocpp.Listen(config.Get("ocpp-listen"), &error) ||
      !http.Listen(config.Get("http-listen"), &error)) {
    CSMS_LOG(kError, "gateway") << error;
    return 1;
  }
  const std::string tls_listen = config.Get("ocpp-tls-listen");
  if (!tls_listen.empty()) {
    OcppTlsOptions tls_options;
    tls_options.cert_files = SplitList(config.Get("ocpp-tls-cert"));
    tls_options.key_files = SplitList(config.Get("ocpp-tls-key"));
    tls_options.client_ca_file = config.Get("ocpp-tls-client-ca");
    tls_options.client_org = config.Get("ocpp-tls-client-org");
    tls_options.reload_interval =
        std::chrono::milliseconds(std::max(100, config.GetInt("ocpp-tls-reload-ms")));
    auto tls = std::make_shared<TlsContextSource>(std::move(tls_options));
    if (!tls->Load(&error) || !ocpp.ListenTls(tls_listen, tls, &error)) {
      CSMS_LOG(kError, "gateway") << "OCPP TLS: " << error;
      return 1;
    }
    CSMS_LOG(kInfo, "gateway") << "OCPP on wss://" << tls_listen << "/ocpp/{station id}"
                               << (tls->options().client_ca_file.empty()
                                       ? " (no client certificates: profile 2 only)"
                                       : " (profiles 2 and 3)");
  }
  auto grpc_server =
      StartGrpcServer(grpc_listen, {&charger_link}, {"csms.gateway.v1.ChargerLink"}, "gateway");
  if (!grpc_server) return 1;

  io_pool.Run();
  MemoryTrimmer trimmer(io_pool.Get(0), registry);
  CSMS_LOG(kInfo, "gateway") << "OCPP on ws://" << config.Get("ocpp-listen")
                             << "/ocpp/{station id}, REST on http://" << config.Get("http-listen")
                             << ", ChargerLink advertised as " << advertise
                             << (router_options.strict ? " (strict OCPP 2.0.1)" : "");

  int sig = WaitForShutdownSignal();
  CSMS_LOG(kInfo, "gateway") << "signal " << sig << ": closing charger connections";
  ocpp.Shutdown(std::chrono::seconds(config.GetInt("drain-seconds")));
  http.Shutdown();
  live_feed.Stop();
  // Give close handshakes and in-flight replies a moment before the loop stops.
  for (int i = 0; i < 20 && registry.size() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (outbox) {
    // Hand billing what it can take now; the rest stays on disk for the next start.
    if (!outbox->WaitUntilEmpty(std::chrono::seconds(3))) {
      CSMS_LOG(kWarn, "gateway") << "outbox: " << outbox->depth()
                                 << " event(s) kept on disk for the next start";
    }
    outbox->Stop();
  }
  backend.Stop();
  io_pool.Stop();
  CSMS_LOG(kInfo, "gateway") << "stopped";
  return 0;
}

}  // namespace csms::gateway
