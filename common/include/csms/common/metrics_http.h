#pragma once

#include <functional>
#include <memory>
#include <string>

#include "csms/common/metrics.h"

namespace csms::metrics {

// A small HTTP/1.1 listener for the services without a REST port: GET /metrics (the registry in
// the text format), /healthz (alive) and /readyz (`ready`, when given; 503 with the reason
// otherwise). Runs on its own thread; one request per connection.
class HttpEndpoint {
 public:
  // Fills `why` and returns false when not ready.
  using ReadyCheck = std::function<bool(std::string* why)>;

  explicit HttpEndpoint(Registry& registry = Registry::Default(), ReadyCheck ready = nullptr);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // Binds host:port (port 0 picks one, see port()). False with a message when it cannot.
  bool Start(const std::string& host_port, std::string* error);
  int port() const;
  void Stop();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace csms::metrics
