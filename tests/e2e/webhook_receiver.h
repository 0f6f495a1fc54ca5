#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace csms::testing {

// A webhook receiver for end-to-end tests: an HTTP/1.1 server on 127.0.0.1:port that can be
// started and stopped (while stopped, connections are refused) and records every request.
// Answers by path: /gone 410; /flaky 503 with Retry-After: 1 the first time it sees an
// Idempotency-Key, 200 after; anything else 200.
class WebhookReceiver {
 public:
  struct Request {
    std::chrono::steady_clock::time_point at;
    std::string target, body;
    std::map<std::string, std::string> headers;  // names in lower case
    int answered = 0;
    std::string Header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };

  explicit WebhookReceiver(int port);
  ~WebhookReceiver();

  bool Start();  // false when the port cannot be bound
  void Stop();

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> requests();

 private:
  struct Server;
  void Serve(Server& server);

  const int port_;
  std::mutex mu_;
  std::vector<Request> requests_;
  std::set<std::string> flaky_seen_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

}  // namespace csms::testing
