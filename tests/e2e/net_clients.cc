#include "net_clients.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

namespace csms::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

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
int RefusedUpgradeStatus(int port, const std::string& path, const std::string& subprotocols) {
  net::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return 0;
  http::request<http::empty_body> req(http::verb::get, path, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::sec_websocket_version, "13");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  if (!subprotocols.empty()) req.set(http::field::sec_websocket_protocol, subprotocols);
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  return ec ? 0 : static_cast<int>(res.result_int());
}
}  // namespace

struct WsClient::Impl {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
  bool open = false;
  bool read_pending = false;
  std::deque<std::string> inbox;
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}
WsClient::~WsClient() { Close(); }

bool WsClient::Connect(int port, const std::string& path, const std::string& subprotocols,
                       const std::map<std::string, std::string>& headers) {
  auto& lowest = beast::get_lowest_layer(impl_->ws);
  lowest.expires_after(std::chrono::seconds(10));
  beast::error_code ec;
  lowest.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
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
    http_status_ = RefusedUpgradeStatus(port, path, subprotocols);
    return false;
  }
  subprotocol_ = std::string(res[http::field::sec_websocket_protocol]);
  lowest.expires_never();
  impl_->open = true;
  return true;
}

bool WsClient::is_open() const {
  return (impl_->open && impl_->ws.is_open()) || !impl_->inbox.empty();
}

bool WsClient::SendText(const std::string& text) {
  beast::error_code ec;
  impl_->ws.text(true);
  impl_->ws.write(net::buffer(text), ec);
  return !ec;
}

bool WsClient::SendBinary(const std::string& data) {
  beast::error_code ec;
  impl_->ws.binary(true);
  impl_->ws.write(net::buffer(data), ec);
  impl_->ws.text(true);
  return !ec;
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
  impl_->ws.async_read(impl_->buffer, [this](beast::error_code ec, size_t) {
    impl_->read_pending = false;
    if (ec) {
      impl_->open = false;
      if (ec == websocket::error::closed) close_code_ = impl_->ws.reason().code;
      return;
    }
    impl_->inbox.push_back(beast::buffers_to_string(impl_->buffer.data()));
    impl_->buffer.consume(impl_->buffer.size());
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
  impl_->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
  impl_->io.restart();
  impl_->io.run_for(std::chrono::seconds(2));
  impl_->open = false;
}

}  // namespace csms::testing
