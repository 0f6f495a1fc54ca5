// Beast is slow to compile: this is the only common translation unit that uses it.
#include "csms/common/metrics_http.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "csms/common/log.h"

namespace csms::metrics {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct Reply {
  http::status status;
  std::string content_type;
  std::string body;
};

Reply Route(const std::string& method, std::string target, Registry& registry,
            const HttpEndpoint::ReadyCheck& ready) {
  if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
  const bool read = method == "GET" || method == "HEAD";
  if (target == "/metrics" && read) {
    return {http::status::ok, kContentType, registry.Render()};
  }
  if (target == "/healthz" && read) {
    return {http::status::ok, "application/json", "{\"status\":\"ok\"}"};
  }
  if (target == "/readyz" && read) {
    std::string why;
    if (!ready || ready(&why)) return {http::status::ok, "application/json", "{\"status\":\"ok\"}"};
    // The reason is a dependency's error text: valid JSON whatever it holds (invalid UTF-8
    // replaced), and short.
    const nlohmann::json body = {{"status", "unavailable"}, {"reason", log::Sanitize(why, 300)}};
    return {http::status::service_unavailable, "application/json",
            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  }
  if (target == "/metrics" || target == "/healthz" || target == "/readyz") {
    return {http::status::method_not_allowed, "text/plain", "use GET\n"};
  }
  return {http::status::not_found, "text/plain", "try /metrics, /healthz or /readyz\n"};
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Registry& registry, const HttpEndpoint::ReadyCheck& ready)
      : stream_(std::move(socket)), registry_(registry), ready_(ready) {}

  void Start() {
    parser_.header_limit(8 * 1024);
    parser_.body_limit(4 * 1024);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->Answer();
                     });
  }

 private:
  void Answer() {
    const auto& req = parser_.get();
    Reply reply =
        Route(std::string(req.method_string()), std::string(req.target()), registry_, ready_);
    res_.result(reply.status);
    res_.version(11);
    res_.set(http::field::content_type, reply.content_type);
    res_.set("X-Content-Type-Options", "nosniff");
    res_.keep_alive(false);
    res_.body() = req.method() == http::verb::head ? std::string() : std::move(reply.body);
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> res_;
  Registry& registry_;
  const HttpEndpoint::ReadyCheck& ready_;
};

}  // namespace

class HttpEndpoint::Impl : public std::enable_shared_from_this<HttpEndpoint::Impl> {
 public:
  Impl(Registry& registry, ReadyCheck ready)
      : registry_(registry), ready_(std::move(ready)), acceptor_(io_) {}

  bool Start(const std::string& host_port, std::string* error) {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) {
      *error = "metrics address must be host:port, got '" + host_port + "'";
      return false;
    }
    std::string host = host_port.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) host = "0.0.0.0";
    beast::error_code ec;
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, host_port.substr(colon + 1),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      *error = "cannot resolve metrics address " + host_port + ": " + ec.message();
      return false;
    }
    const tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      *error = "cannot listen for metrics on " + host_port + ": " + ec.message();
      return false;
    }
    port_ = acceptor_.local_endpoint().port();
    DoAccept();
    thread_ = std::thread([self = shared_from_this()] { self->io_.run(); });
    return true;
  }

  void Stop() {
    if (!thread_.joinable()) return;
    net::post(io_, [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      self->io_.stop();
    });
    thread_.join();
  }

  int port() const { return port_; }

 private:
  void DoAccept() {
    acceptor_.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), self->registry_, self->ready_)->Start();
      if (self->acceptor_.is_open()) self->DoAccept();
    });
  }

  Registry& registry_;
  ReadyCheck ready_;
  net::io_context io_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
};

HttpEndpoint::HttpEndpoint(Registry& registry, ReadyCheck ready)
    : impl_(std::make_shared<Impl>(registry, std::move(ready))) {}
HttpEndpoint::~HttpEndpoint() { Stop(); }
bool HttpEndpoint::Start(const std::string& host_port, std::string* error) {
  return impl_->Start(host_port, error);
}
int HttpEndpoint::port() const { return impl_->port(); }
void HttpEndpoint::Stop() { impl_->Stop(); }

}  // namespace csms::metrics
