#include "webhook_receiver.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace csms::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct WebhookReceiver::Server {
  net::io_context io;
  tcp::acceptor acceptor{io};
};

WebhookReceiver::WebhookReceiver(int port) : port_(port) {}

WebhookReceiver::~WebhookReceiver() { Stop(); }

bool WebhookReceiver::Start() {
  if (server_) return true;
  auto server = std::make_unique<Server>();
  beast::error_code ec;
  const tcp::endpoint at(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_));
  server->acceptor.open(at.protocol(), ec);
  if (!ec) server->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) server->acceptor.bind(at, ec);
  if (!ec) server->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return false;
  stop_ = false;
  server_ = std::move(server);
  thread_ = std::thread([this] { Serve(*server_); });
  return true;
}

void WebhookReceiver::Stop() {
  if (!server_) return;
  stop_ = true;
  {
    // A blocking accept does not return when its socket is closed elsewhere: connect to wake it.
    net::io_context io;
    tcp::socket wake(io);
    beast::error_code ignored;
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)),
                 ignored);
  }
  thread_.join();
  beast::error_code ignored;
  server_->acceptor.close(ignored);
  server_.reset();
}

std::vector<WebhookReceiver::Request> WebhookReceiver::requests() {
  std::lock_guard lock(mu_);
  return requests_;
}

void WebhookReceiver::Serve(Server& server) {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket(server.io);
    server.acceptor.accept(socket, ec);
    if (stop_) return;
    if (ec) continue;
    // One request per connection: the CSMS sends Connection: close.
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) continue;
    Request r;
    r.at = std::chrono::steady_clock::now();
    r.target = std::string(req.target());
    r.body = req.body();
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(field.value());
    }
    http::response<http::string_body> res{http::status::ok, 11};
    {
      std::lock_guard lock(mu_);
      if (r.target == "/gone") {
        res.result(http::status::gone);
        res.body() = "this receiver is gone";
      } else if (r.target == "/flaky" && flaky_seen_.insert(r.Header("idempotency-key")).second) {
        res.result(http::status::service_unavailable);
        res.set(http::field::retry_after, "1");
      }
      r.answered = static_cast<int>(res.result_int());
      requests_.push_back(r);
    }
    res.set(http::field::connection, "close");
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
}

}  // namespace csms::testing
