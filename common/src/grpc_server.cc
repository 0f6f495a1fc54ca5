#include "csms/common/grpc_server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "csms/common/api_auth.h"
#include "csms/common/grpc_metrics.h"
#include "csms/common/log.h"

namespace csms {

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

namespace {

// Set once by ConfigureGrpcTlsOrExit, before any server or channel exists.
std::shared_ptr<grpc::ServerCredentials> g_server_credentials;
std::shared_ptr<grpc::ChannelCredentials> g_channel_credentials;

// The service token every channel from MakeChannel presents (see SetOutgoingBearerToken).
std::mutex g_token_mu;
std::shared_ptr<const std::string> g_outgoing_authorization;

std::shared_ptr<const std::string> OutgoingAuthorization() {
  std::lock_guard lock(g_token_mu);
  return g_outgoing_authorization;
}

// Adds `authorization: Bearer <service token>` to calls that carry none of their own. Call
// credentials would need a TLS channel; this works on plaintext ones too.
class BearerInterceptor : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      if (auto value = OutgoingAuthorization()) {
        auto* metadata = methods->GetSendInitialMetadata();
        if (metadata->find("authorization") == metadata->end()) {
          metadata->emplace("authorization", *value);
        }
      }
    }
    methods->Proceed();
  }
};

class BearerInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor();
  }
};

// Debian's Abseil keeps absl::Mutex's lock-order (deadlock) tracking on; gRPC takes such mutexes
// on every call, and the tracking showed up as ~4% of the gateway's CPU under load.
void SkipAbseilLockOrderTracking() {
  static const bool once = [] {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    return true;
  }();
  (void)once;
}
}  // namespace

std::unique_ptr<grpc::Server> StartGrpcServer(const std::string& listen,
                                              const std::vector<grpc::Service*>& services,
                                              const std::vector<std::string>& health_names,
                                              const char* component) {
  SkipAbseilLockOrderTracking();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(
      listen, g_server_credentials ? g_server_credentials : grpc::InsecureServerCredentials(),
      &bound_port);
  for (auto* service : services) builder.RegisterService(service);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeServerMetricsInterceptor());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  auto server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    CSMS_LOG(kError, component) << "cannot listen for gRPC on " << listen;
    return nullptr;
  }
  auto* health = server->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(true);
    for (const auto& name : health_names) health->SetServingStatus(name, true);
  }
  CSMS_LOG(kInfo, component) << "gRPC listening on " << listen
                             << (g_server_credentials ? " (TLS)" : "");
  return server;
}

std::vector<FlagSpec> GrpcTlsFlags() {
  return {
      {"grpc-tls-cert", "CSMS_GRPC_TLS_CERT", "",
       "PEM certificate (chain) of this service's gRPC server; with --grpc-tls-key the server "
       "speaks TLS only (empty: plaintext)"},
      {"grpc-tls-key", "CSMS_GRPC_TLS_KEY", "", "PEM private key for --grpc-tls-cert"},
      {"grpc-tls-ca", "CSMS_GRPC_TLS_CA", "",
       "PEM CA certificate(s): this service's gRPC calls to the others use TLS and trust only "
       "these (empty: plaintext)"},
  };
}

std::vector<FlagSpec> WithGrpcTlsFlags(std::vector<FlagSpec> specs) {
  for (auto& spec : GrpcTlsFlags()) specs.push_back(std::move(spec));
  return specs;
}

namespace {
std::string ReadPemOrExit(const std::string& flag, const std::string& path, const char* component) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().find("-----BEGIN") == std::string::npos) {
    CSMS_LOG(kError, component) << "--" << flag << ": cannot read PEM from "
                                << log::Sanitize(path, 200);
    std::exit(2);
  }
  return text.str();
}
}  // namespace

void ConfigureGrpcTlsOrExit(const Config& config, const char* component) {
  const std::string& cert = config.Get("grpc-tls-cert");
  const std::string& key = config.Get("grpc-tls-key");
  const std::string& ca = config.Get("grpc-tls-ca");
  if (cert.empty() != key.empty()) {
    CSMS_LOG(kError, component) << "--grpc-tls-cert and --grpc-tls-key go together";
    std::exit(2);
  }
  if (!cert.empty()) {
    grpc::SslServerCredentialsOptions options;
    auth::WarnIfFileExposed(key, /*secret=*/true, "--grpc-tls-key", component);
    options.pem_key_cert_pairs.push_back({ReadPemOrExit("grpc-tls-key", key, component),
                                          ReadPemOrExit("grpc-tls-cert", cert, component)});
    g_server_credentials = grpc::SslServerCredentials(options);
  }
  if (!ca.empty()) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadPemOrExit("grpc-tls-ca", ca, component);
    g_channel_credentials = grpc::SslCredentials(options);
  }
}

void SetOutgoingBearerToken(const std::string& token) {
  std::lock_guard lock(g_token_mu);
  g_outgoing_authorization =
      token.empty() ? nullptr : std::make_shared<const std::string>("Bearer " + token);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  SkipAbseilLockOrderTracking();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeClientMetricsInterceptor());
  interceptors.push_back(std::make_unique<BearerInterceptorFactory>());
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, g_channel_credentials ? g_channel_credentials : grpc::InsecureChannelCredentials(),
      args, std::move(interceptors));
}

}  // namespace csms
