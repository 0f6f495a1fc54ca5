#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace csms {

// Runs `probe` every `interval` on its own thread and reports each change of its outcome to
// `apply` (also the first outcome). Used to turn the gRPC health status NOT_SERVING while the
// database is unreachable and back to SERVING when it returns.
class HealthWatcher {
 public:
  // True when the dependency answered; fills `error` otherwise. Must bound its own duration.
  using Probe = std::function<bool(std::string* error)>;
  using Apply = std::function<void(bool healthy)>;

  HealthWatcher(std::string what, Probe probe, Apply apply, std::chrono::milliseconds interval,
                const char* component);
  ~HealthWatcher();
  HealthWatcher(const HealthWatcher&) = delete;
  HealthWatcher& operator=(const HealthWatcher&) = delete;

  void Stop();
  bool healthy() const { return healthy_.load(); }
  // Last failure, empty while healthy.
  std::string last_error() const;

 private:
  void Loop();

  std::string what_;
  Probe probe_;
  Apply apply_;
  std::chrono::milliseconds interval_;
  const char* component_;
  std::atomic<bool> healthy_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string last_error_;
  std::thread thread_;
};

// A probe that keeps one PostgreSQL connection and runs SELECT 1, with connect, statement and
// TCP timeouts of `timeout` so an unreachable or black-holed server fails fast.
HealthWatcher::Probe PostgresProbe(const std::string& url, std::chrono::seconds timeout);

// `url` with libpq's connect_timeout and tcp_user_timeout added (either connection-string form).
std::string WithConnectTimeouts(const std::string& url, std::chrono::seconds timeout);

// Sets the server's overall status ("") and each name to SERVING or NOT_SERVING.
HealthWatcher::Apply GrpcHealthApplier(grpc::Server* server, std::vector<std::string> names);

}  // namespace csms
