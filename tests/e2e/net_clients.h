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

// The value of an `Authorization: Basic base64(user:password)` header (RFC 7617).
std::string Basic(const std::string& user, const std::string& password);

// One HTTP/1.1 request to 127.0.0.1:port.
// `request_headers` are sent as given (e.g. {"Authorization", "Bearer …"}).
HttpResult HttpCall(int port, const std::string& method, const std::string& target,
                    const std::string& body = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(40),
                    const std::map<std::string, std::string>& request_headers = {});

// How WsClient speaks TLS (wss://, OCPP security profiles 2 and 3). Versions are OpenSSL's
// TLS1_2_VERSION etc.; 0 leaves the library's default.
struct TlsOptions {
  std::string ca_file;    // roots the server certificate must chain to; empty: not checked
  std::string cert_file;  // client certificate chain (profile 3); empty: none sent
  std::string key_file;   // its private key
  std::string server_name = "localhost";  // sent as SNI and checked against the certificate
  int min_version = 0;
  int max_version = 0;
  std::string cipher_list;   // TLS 1.2 and older suites in OpenSSL's syntax; empty: default
  std::string ciphersuites;  // TLS 1.3 suites; empty: default
};

// A raw OCPP-J charger: a WebSocket client that sends frames exactly as the test writes them.
class WsClient {
 public:
  WsClient();
  ~WsClient();

  // Connects to ws://127.0.0.1:port<path> (wss:// after set_tls) offering `subprotocols` (comma
  // separated, may be empty). On a refused upgrade returns false and sets http_status().
  // `headers` go with the upgrade request (e.g. {"Authorization", "Basic …"}).
  bool Connect(int port, const std::string& path, const std::string& subprotocols = "ocpp2.0.1",
               const std::map<std::string, std::string>& headers = {});
  int http_status() const { return http_status_; }
  const std::string& selected_subprotocol() const { return subprotocol_; }

  // Call before Connect: speak TLS.
  void set_tls(TlsOptions options);
  // Call before Connect: connect from this local address (any 127.x.y.z works on Linux), e.g.
  // to keep a test's failed handshakes away from the gateway's per-address failure limit.
  void set_source_address(std::string address) { source_address_ = std::move(address); }
  // After a failed Connect over TLS: true when TLS itself failed (handshake, certificate or an
  // alert before any HTTP answer; with TLS 1.3 a refused client certificate shows up only after
  // the client's side of the handshake is done), as opposed to an HTTP refusal (http_status()).
  bool tls_failed() const { return tls_failed_; }
  const std::string& tls_error() const { return tls_error_; }
  // After a TLS handshake: "TLSv1.2", "TLSv1.3"; the OpenSSL suite name; the server
  // certificate's key type ("RSA", "EC").
  const std::string& tls_version() const { return tls_version_; }
  const std::string& tls_cipher() const { return tls_cipher_; }
  const std::string& tls_server_key_type() const { return tls_server_key_type_; }
  // The body of a refused upgrade over TLS (the gateway says why).
  const std::string& refusal_body() const { return refusal_body_; }

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
  bool ConnectTls(int port, const std::string& path, const std::string& subprotocols,
                  const std::map<std::string, std::string>& headers);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::optional<TlsOptions> tls_;
  std::string source_address_;
  bool tls_failed_ = false;
  std::string tls_error_, tls_version_, tls_cipher_, tls_server_key_type_, refusal_body_;
  int http_status_ = 0;
  std::string subprotocol_;
  std::optional<int> close_code_;
  int next_id_ = 1;
};

}  // namespace csms::testing
