#include "csms/common/grpc_metrics.h"

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace csms {
namespace {

using grpc::experimental::InterceptionHookPoints;
using Clock = std::chrono::steady_clock;

constexpr int kCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED
constexpr const char* kCodeNames[kCodes] = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

// One method's children, looked up once per thread and method (see Metrics::For).
struct MethodMetrics {
  std::string service, method;
  metrics::Family<metrics::Counter>* handled = nullptr;
  metrics::Histogram* seconds = nullptr;
  std::array<std::atomic<metrics::Counter*>, kCodes> by_code{};

  void Record(Clock::time_point start, grpc::StatusCode code) {
    seconds->ObserveSince(start);
    int index = static_cast<int>(code);
    if (index < 0 || index >= kCodes) index = static_cast<int>(grpc::StatusCode::UNKNOWN);
    metrics::Counter* counter = by_code[index].load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &handled->Labels({service, method, kCodeNames[index]});
      by_code[index].store(counter, std::memory_order_release);
    }
    counter->Inc();
  }
};

class Metrics {
 public:
  Metrics(metrics::Registry& registry, const char* side)
      : handled_(registry.AddCounter(
            std::string("grpc_") + side + "_handled_total",
            std::string("gRPC calls completed by the ") + side + ", by method and status code.",
            {"grpc_service", "grpc_method", "grpc_code"})),
        seconds_(registry.AddHistogram(
            std::string("grpc_") + side + "_handling_seconds",
            std::string("Time from the start of a gRPC call to its status, on the ") + side +
                ", seconds.",
            {"grpc_service", "grpc_method"})) {}

  // `method` is the method's static name ("/pkg.Service/Method"): its address identifies it,
  // so the per-thread cache needs no lock and no string hashing.
  MethodMetrics* For(const char* method) {
    struct CacheEntry {
      const Metrics* owner;
      const char* method;
      MethodMetrics* metrics;
    };
    thread_local std::vector<CacheEntry> cache;
    for (const auto& entry : cache) {
      if (entry.owner == this && entry.method == method) return entry.metrics;
    }
    MethodMetrics* found = Lookup(method == nullptr ? "" : method);
    if (cache.size() < 64) cache.push_back({this, method, found});
    return found;
  }

 private:
  MethodMetrics* Lookup(const std::string& full) {
    std::lock_guard lock(mu_);
    auto& slot = by_name_[full];
    if (!slot) {
      slot = std::make_unique<MethodMetrics>();
      // "/csms.control.v1.ControlService/GetCharger" -> service, method
      const auto slash = full.rfind('/');
      if (slash != std::string::npos && slash > 0) {
        slot->service = full.substr(full[0] == '/' ? 1 : 0, slash - (full[0] == '/' ? 1 : 0));
        slot->method = full.substr(slash + 1);
      } else {
        slot->method = full;
      }
      slot->handled = &handled_;
      slot->seconds = &seconds_.Labels({slot->service, slot->method});
    }
    return slot.get();
  }

  metrics::Family<metrics::Counter>& handled_;
  metrics::Family<metrics::Histogram>& seconds_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<MethodMetrics>> by_name_;
};

// One Metrics per registry and side, never destroyed: per-thread caches keep pointers into it
// and channels (each with its own factory) come and go.
Metrics& SharedMetrics(metrics::Registry& registry, const char* side) {
  static std::mutex mu;
  static std::map<std::pair<metrics::Registry*, std::string>, Metrics*> all;
  std::lock_guard lock(mu);
  Metrics*& m = all[{&registry, side}];
  if (m == nullptr) m = new Metrics(registry, side);
  return *m;
}

class ServerInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit ServerInterceptor(MethodMetrics* metrics) : metrics_(metrics), start_(Clock::now()) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->Record(start_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  MethodMetrics* metrics_;
  Clock::time_point start_;
};

class ServerFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerFactory(metrics::Registry& registry)
      : metrics_(SharedMetrics(registry, "server")) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ServerInterceptor(metrics_.For(info->method()));
  }

 private:
  Metrics& metrics_;
};

class ClientInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit ClientInterceptor(MethodMetrics* metrics) : metrics_(metrics), start_(Clock::now()) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      if (const grpc::Status* status = methods->GetRecvStatus()) {
        metrics_->Record(start_, status->error_code());
      }
    }
    methods->Proceed();
  }

 private:
  MethodMetrics* metrics_;
  Clock::time_point start_;
};

class ClientFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ClientFactory(metrics::Registry& registry)
      : metrics_(SharedMetrics(registry, "client")) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new ClientInterceptor(metrics_.For(info->method()));
  }

 private:
  Metrics& metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeServerMetricsInterceptor(
    metrics::Registry& registry) {
  return std::make_unique<ServerFactory>(registry);
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> MakeClientMetricsInterceptor(
    metrics::Registry& registry) {
  return std::make_unique<ClientFactory>(registry);
}

}  // namespace csms
