#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace csms::testing {

struct HttpResult {
  int status = 0;  // 0: no answer
  std::string body;
  std::map<std::string, std::string> headers;  // response headers, names in lower case
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// One HTTP/1.1 request to 127.0.0.1:port.
// `request_headers` are sent as given (e.g. {"Authorization", "Bearer …"}).
HttpResult HttpCall(int port, const std::string& method, const std::string& target,
                    const std::string& body = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(40),
                    const std::map<std::string, std::string>& request_headers = {});

// A raw OCPP-J charger: a WebSocket client that sends frames exactly as the test writes them.
class WsClient {
 public:
  WsClient();
  ~WsClient();

  // Connects to ws://127.0.0.1:port<path> offering `subprotocols` (comma separated, may be
  // empty). On a refused upgrade returns false and sets http_status().
  // `headers` go with the upgrade request (e.g. {"Authorization", "Basic …"}).
  bool Connect(int port, const std::string& path, const std::string& subprotocols = "ocpp2.0.1",
               const std::map<std::string, std::string>& headers = {});
  int http_status() const { return http_status_; }
  const std::string& selected_subprotocol() const { return subprotocol_; }

  bool SendText(const std::string& text);
  bool SendBinary(const std::string& data);
  // Next text message, or nullopt on timeout or close.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends a CALL and returns the reply frame (as JSON) with the same id; CALLs from the CSMS
  // that arrive meanwhile are answered by `on_server_call` (default: empty CALLRESULT).
  nlohmann::json Call(const std::string& action, const nlohmann::json& payload,
                      std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::function<nlohmann::json(const std::string& action, const nlohmann::json& payload)>
      on_server_call;
  // Close code the server sent, if the connection was closed by the server.
  std::optional<int> close_code() const { return close_code_; }
  bool is_open() const;
  void Close();

 private:
  void StartRead();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  int http_status_ = 0;
  std::string subprotocol_;
  std::optional<int> close_code_;
  int next_id_ = 1;
};

}  // namespace csms::testing
