#include "net_clients.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>

namespace csms::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

std::string Basic(const std::string& user, const std::string& password) {
  std::string plain = user + ":" + password;
  std::string out(beast::detail::base64::encoded_size(plain.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
  return "Basic " + out;
}

HttpResult HttpCall(int port, const std::string& method, const std::string& target,
                    const std::string& body, std::chrono::milliseconds timeout,
                    const std::map<std::string, std::string>& request_headers) {
  net::io_context io;
  beast::tcp_stream stream(io);
  HttpResult result;
  stream.expires_after(timeout);
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : request_headers) req.set(name, value);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                       [&](beast::error_code ec) {
                         if (ec) return;
                         http::async_write(stream, req, [&](beast::error_code ec, size_t) {
                           if (ec) return;
                           http::async_read(stream, buffer, res, [&](beast::error_code ec, size_t) {
                             if (ec) return;
                             result.status = static_cast<int>(res.result_int());
                             result.body = res.body();
                             for (const auto& field : res) {
                               std::string name(field.name_string());
                               for (auto& c : name) c = static_cast<char>(std::tolower(c));
                               result.headers[name] = std::string(field.value());
                             }
                           });
                         });
                       });
  io.run();
  return result;
}

namespace {
// Connects `socket` to 127.0.0.1:port, from `source` when that is not empty.
void ConnectFrom(tcp::socket& socket, const std::string& source, int port, beast::error_code& ec) {
  if (!source.empty()) {
    auto address = net::ip::make_address(source, ec);
    if (!ec) socket.open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (!ec) socket.bind(tcp::endpoint(address, 0), ec);
    if (ec) return;
  }
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
}

int RefusedUpgradeStatus(int port, const std::string& path, const std::string& subprotocols,
                         const std::map<std::string, std::string>& headers,
                         const std::string& source) {
  net::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  ConnectFrom(stream.socket(), source, port, ec);
  if (ec) return 0;
  http::request<http::empty_body> req(http::verb::get, path, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::sec_websocket_version, "13");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  if (!subprotocols.empty()) req.set(http::field::sec_websocket_protocol, subprotocols);
  for (const auto& [name, value] : headers) req.set(name, value);
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  return ec ? 0 : static_cast<int>(res.result_int());
}
}  // namespace

using TlsWebSocket = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

struct WsClient::Impl {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  std::optional<net::ssl::context> ssl;  // declared before tls_ws, which refers to it
  std::unique_ptr<TlsWebSocket> tls_ws;  // set: the connection is wss
  beast::flat_buffer buffer;
  bool open = false;
  bool read_pending = false;
  std::deque<std::string> inbox;

  // Runs `f` on whichever WebSocket stream is in use (a generic lambda: both get compiled).
  template <typename F>
  decltype(auto) With(F&& f) {
    return tls_ws ? f(*tls_ws) : f(ws);
  }
  // Runs the queued asynchronous operations to completion.
  void Run() {
    io.restart();
    io.run();
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() { Close(); }

void WsClient::set_tls(TlsOptions options) { tls_ = std::move(options); }

bool WsClient::Connect(int port, const std::string& path, const std::string& subprotocols,
                       const std::map<std::string, std::string>& headers) {
  if (tls_) return ConnectTls(port, path, subprotocols, headers);
  auto& lowest = beast::get_lowest_layer(impl_->ws);
  lowest.expires_after(std::chrono::seconds(10));
  beast::error_code ec;
  ConnectFrom(lowest.socket(), source_address_, port, ec);
  if (ec) return false;
  if (!subprotocols.empty() || !headers.empty()) {
    impl_->ws.set_option(
        websocket::stream_base::decorator([subprotocols, headers](websocket::request_type& req) {
          if (!subprotocols.empty()) req.set(http::field::sec_websocket_protocol, subprotocols);
          for (const auto& [name, value] : headers) req.set(name, value);
        }));
  }
  websocket::response_type res;
  impl_->ws.handshake(res, "127.0.0.1:" + std::to_string(port), path, ec);
  http_status_ = static_cast<int>(res.result_int());
  if (ec) {
    // Beast stops reading a refusal that has a body; ask again over plain HTTP for the status.
    http_status_ = RefusedUpgradeStatus(port, path, subprotocols, headers, source_address_);
    return false;
  }
  subprotocol_ = std::string(res[http::field::sec_websocket_protocol]);
  lowest.expires_never();
  impl_->open = true;
  return true;
}

namespace {
std::string SslErrors() {
  std::string all;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    all += all.empty() ? buf : std::string("; ") + buf;
  }
  return all;
}

bool IsTlsError(const beast::error_code& ec) {
  return ec.category() == net::error::get_ssl_category() ||
         ec.category() == net::ssl::error::get_stream_category();
}
}  // namespace

bool WsClient::ConnectTls(int port, const std::string& path, const std::string& subprotocols,
                          const std::map<std::string, std::string>& headers) {
  tls_failed_ = false;
  tls_error_.clear();
  tls_version_.clear();
  tls_cipher_.clear();
  tls_server_key_type_.clear();
  refusal_body_.clear();
  http_status_ = 0;
  const TlsOptions& o = *tls_;

  impl_->tls_ws.reset();
  impl_->ssl.emplace(net::ssl::context::tls_client);
  SSL_CTX* ctx = impl_->ssl->native_handle();
  ERR_clear_error();
  auto setup_failed = [this](const std::string& what) {
    tls_error_ = what + ": " + SslErrors();
    return false;
  };
  // Explicit bounds override the system openssl.cnf (Debian's MinProtocol among them).
  if (o.min_version != 0 && !SSL_CTX_set_min_proto_version(ctx, o.min_version)) {
    return setup_failed("min_version");
  }
  if (o.max_version != 0 && !SSL_CTX_set_max_proto_version(ctx, o.max_version)) {
    return setup_failed("max_version");
  }
  if (!o.cipher_list.empty() && !SSL_CTX_set_cipher_list(ctx, o.cipher_list.c_str())) {
    return setup_failed("cipher_list");
  }
  if (!o.ciphersuites.empty() && !SSL_CTX_set_ciphersuites(ctx, o.ciphersuites.c_str())) {
    return setup_failed("ciphersuites");
  }
  if (!o.ca_file.empty()) {
    if (!SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr)) {
      return setup_failed("ca_file " + o.ca_file);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!o.server_name.empty() &&
        !X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx), o.server_name.c_str(), 0)) {
      return setup_failed("server_name");
    }
  }
  if (!o.cert_file.empty()) {
    if (!SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str())) {
      return setup_failed("cert_file " + o.cert_file);
    }
    if (!SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) ||
        !SSL_CTX_check_private_key(ctx)) {
      return setup_failed("key_file " + o.key_file);
    }
  }

  impl_->tls_ws = std::make_unique<TlsWebSocket>(impl_->io, *impl_->ssl);
  auto& ws = *impl_->tls_ws;
  SSL* ssl = ws.next_layer().native_handle();
  if (!o.server_name.empty() && !SSL_set_tlsext_host_name(ssl, o.server_name.c_str())) {
    return setup_failed("SNI");
  }
  auto& lowest = beast::get_lowest_layer(ws);
  beast::error_code ec;
  ConnectFrom(lowest.socket(), source_address_, port, ec);
  if (ec) {
    tls_error_ = "connect: " + ec.message();
    return false;
  }
  // Asynchronous from here: only those honour the stream's deadline.
  lowest.expires_after(std::chrono::seconds(10));
  ws.next_layer().async_handshake(net::ssl::stream_base::client,
                                  [&ec](beast::error_code e) { ec = e; });
  impl_->Run();
  if (ec) {
    tls_failed_ = true;
    tls_error_ = "TLS handshake: " + ec.message();
    return false;
  }
  tls_version_ = SSL_get_version(ssl);
  tls_cipher_ = SSL_get_cipher_name(ssl);
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    int id = EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
    tls_server_key_type_ = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : OBJ_nid2sn(id);
    X509_free(peer);
  }

  ws.set_option(
      websocket::stream_base::decorator([subprotocols, headers](websocket::request_type& req) {
        if (!subprotocols.empty()) req.set(http::field::sec_websocket_protocol, subprotocols);
        for (const auto& [name, value] : headers) req.set(name, value);
      }));
  // The asynchronous handshake hands back a refusal's response too (the synchronous one
  // does not), so no second request is needed for the status.
  websocket::response_type res;
  res.result(0u);  // stays 0 when no HTTP answer arrives (the default is 200)
  ws.async_handshake(res, o.server_name + ":" + std::to_string(port), path,
                     [&ec](beast::error_code e) { ec = e; });
  impl_->Run();
  http_status_ = static_cast<int>(res.result_int());
  if (ec) {
    if (http_status_ == 101) http_status_ = 0;  // upgraded, but the answer was not valid
    refusal_body_ = res.body();
    tls_failed_ = http_status_ == 0 && IsTlsError(ec);
    tls_error_ = ec.message();
    return false;
  }
  subprotocol_ = std::string(res[http::field::sec_websocket_protocol]);
  lowest.expires_never();
  impl_->open = true;
  return true;
}

bool WsClient::is_open() const {
  bool stream_open = impl_->tls_ws ? impl_->tls_ws->is_open() : impl_->ws.is_open();
  return (impl_->open && stream_open) || !impl_->inbox.empty();
}

bool WsClient::SendText(const std::string& text) {
  return impl_->With([&](auto& ws) {
    beast::error_code ec;
    ws.text(true);
    ws.write(net::buffer(text), ec);
    return !ec;
  });
}

bool WsClient::SendBinary(const std::string& data) {
  return impl_->With([&](auto& ws) {
    beast::error_code ec;
    ws.binary(true);
    ws.write(net::buffer(data), ec);
    ws.text(true);
    return !ec;
  });
}

std::optional<std::string> WsClient::Receive(std::chrono::milliseconds timeout) {
  if (!impl_->read_pending && impl_->inbox.empty()) {
    if (!impl_->open) return std::nullopt;
    impl_->read_pending = true;
    StartRead();
  }
  if (impl_->inbox.empty()) {
    impl_->io.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (impl_->inbox.empty() && impl_->read_pending &&
           std::chrono::steady_clock::now() < deadline) {
      impl_->io.run_one_for(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
    }
  }
  if (impl_->inbox.empty()) return std::nullopt;  // timed out (the read stays pending) or closed
  std::string message = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  return message;
}

void WsClient::StartRead() {
  impl_->With([this](auto& ws) {
    ws.async_read(impl_->buffer, [this, &ws](beast::error_code ec, size_t) {
      impl_->read_pending = false;
      if (ec) {
        impl_->open = false;
        if (ec == websocket::error::closed) close_code_ = ws.reason().code;
        return;
      }
      impl_->inbox.push_back(beast::buffers_to_string(impl_->buffer.data()));
      impl_->buffer.consume(impl_->buffer.size());
    });
  });
}

json WsClient::Call(const std::string& action, const json& payload,
                    std::chrono::milliseconds timeout) {
  std::string id = "t" + std::to_string(next_id_++);
  if (!SendText(json::array({2, id, action, payload}).dump())) return json();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto text = Receive(left);
    if (!text) return json();
    json frame = json::parse(*text, nullptr, false);
    if (!frame.is_array() || frame.size() < 3) continue;
    if (frame[0] == 2) {
      json answer =
          on_server_call ? on_server_call(frame[2].get<std::string>(), frame[3]) : json::object();
      SendText(json::array({3, frame[1], answer}).dump());
      continue;
    }
    if (frame[1] == id) return frame;
  }
  return json();
}

void WsClient::Close() {
  if (!impl_->open) return;
  impl_->With(
      [](auto& ws) { ws.async_close(websocket::close_code::normal, [](beast::error_code) {}); });
  impl_->io.restart();
  impl_->io.run_for(std::chrono::seconds(2));
  impl_->open = false;
}

}  // namespace csms::testing
