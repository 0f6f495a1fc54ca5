#include "csms/gateway/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "csms/common/log.h"
#include "csms/gateway/listener.h"

namespace csms::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr size_t kMaxHeaderBytes = 8 * 1024;
constexpr auto kReadTimeout = std::chrono::seconds(30);

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, RestApi& api) : stream_(std::move(socket)), api_(api) {}

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      return Write(RestApi::Error(413, "too_large", "request headers or body too large"), false);
    }
    if (ec) {
      if (ec != net::error::connection_reset && ec != net::error::eof) {
        return Write(RestApi::Error(400, "bad_request", "malformed HTTP request"), false);
      }
      return Close();
    }
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    HttpRequest request{std::string(req.method_string()), std::string(req.target()),
                        std::move(req.body())};
    stream_.expires_never();
    api_.Handle(request, [self = shared_from_this()](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response), self->keep_alive_);
      });
    });
  }

  void Write(HttpResponse response, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "csms-gateway");
    res->set(http::field::content_type, response.content_type);
    res->keep_alive(keep_alive);
    res->body() = std::move(response.body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->Close();
                        self->DoRead();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  RestApi& api_;
  bool keep_alive_ = false;
};

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(net::io_context& io, RestApi& api) : io_(io), acceptor_(net::make_strand(io)), api_(api) {}

  bool Listen(const std::string& host_port, std::string* error) {
    if (!BindAcceptor(acceptor_, host_port, error)) return false;
    DoAccept();
    return true;
  }

  void Shutdown() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(io_), [self = shared_from_this()](beast::error_code ec,
                                                                              tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) std::make_shared<HttpSession>(std::move(socket), self->api_)->Start();
      if (self->acceptor_.is_open()) self->DoAccept();
    });
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  RestApi& api_;
};

HttpServer::HttpServer(net::io_context& io, RestApi& api)
    : impl_(std::make_shared<Impl>(io, api)) {}
HttpServer::~HttpServer() = default;
bool HttpServer::Listen(const std::string& host_port, std::string* error) {
  return impl_->Listen(host_port, error);
}
void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace csms::gateway
