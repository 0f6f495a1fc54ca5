#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"

namespace csms::gateway {

// /readyz: the gateway is ready while control and billing answer grpc.health.v1 Check with
// SERVING (which they do only while their database is reachable). Results are cached for
// `cache_for` so probes and load balancers do not multiply the checks.
class Readiness {
 public:
  struct Dependency {
    std::string name;     // "control", "billing"
    std::string service;  // the health service name to check
    std::shared_ptr<grpc::Channel> channel;
  };
  struct Result {
    bool ready = false;
    // One entry per dependency: name -> "SERVING" or what went wrong.
    std::vector<std::pair<std::string, std::string>> states;
    std::string Json() const;
  };

  explicit Readiness(std::vector<Dependency> dependencies,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(500),
                     std::chrono::milliseconds cache_for = std::chrono::seconds(1));

  // `done` runs once, possibly on a gRPC thread.
  void Check(std::function<void(const Result&)> done);

 private:
  struct Target {
    Dependency dependency;
    std::unique_ptr<grpc::health::v1::Health::Stub> stub;
  };
  std::vector<Target> targets_;
  std::chrono::milliseconds timeout_, cache_for_;
  std::mutex mu_;
  bool have_cached_ = false;
  std::chrono::steady_clock::time_point cached_at_;
  Result cached_;
};

}  // namespace csms::gateway
