#include "csms/control/webhook_http.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "csms/common/log.h"

namespace csms::control {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxAnswerBytes = 64 * 1024;
constexpr size_t kExcerptBytes = 200;

bool IsIpLiteral(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// One POST on the io_context of the Post that runs it; every handler has run (or been dropped
// by a Cancel) when io.run() returns, so `this` outlives them all.
class Exchange {
 public:
  Exchange(net::io_context& io, ssl::context& tls, const WebhookUrl& url,
           const WebhookRequest& request, HttpAttempt& out)
      : io_(io), tls_context_(tls), url_(url), out_(out), resolver_(io), deadline_(io) {
    req_.method(http::verb::post);
    req_.target(url.target);
    req_.version(11);
    const std::string host =
        url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    req_.set(http::field::host, url.default_port ? host : host + ":" + url.port);
    for (const auto& [name, value] : request.headers) req_.set(name, value);
    req_.set(http::field::connection, "close");
    req_.body() = request.body;
    req_.prepare_payload();
    parser_.body_limit(kMaxAnswerBytes);
    timeout_ = request.timeout;
  }

  void Start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([this](beast::error_code ec) {
      if (ec || finished_) return;
      timed_out_ = true;
      Abort();
    });
    step_ = "resolving " + url_.host;
    resolver_.async_resolve(url_.host, url_.port,
                            [this](beast::error_code ec, tcp::resolver::results_type results) {
                              if (ec) return Fail(ec);
                              if (url_.tls) {
                                tls_stream_.emplace(io_, tls_context_);
                                Connect(*tls_stream_, results);
                              } else {
                                plain_.emplace(io_);
                                Connect(*plain_, results);
                              }
                            });
  }

 private:
  template <typename Stream>
  void Connect(Stream& stream, const tcp::resolver::results_type& results) {
    step_ = "connecting";
    beast::get_lowest_layer(stream).async_connect(
        results, [this, &stream](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return Fail(ec);
          if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            Talk(stream);
          } else {
            Handshake(stream);
          }
        });
  }

  void Handshake(ssl::stream<beast::tcp_stream>& stream) {
    step_ = "TLS handshake";
    if (!IsIpLiteral(url_.host) &&
        !SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str())) {
      out_.error = "TLS: cannot set the server name";
      return Finish();
    }
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(url_.host));
    stream.async_handshake(ssl::stream_base::client, [this, &stream](beast::error_code ec) {
      if (ec) return Fail(ec);
      Talk(stream);
    });
  }

  template <typename Stream>
  void Talk(Stream& stream) {
    step_ = "sending";
    http::async_write(stream, req_, [this, &stream](beast::error_code ec, size_t) {
      if (ec) return Fail(ec);
      step_ = "reading the answer";
      http::async_read(stream, buffer_, parser_, [this](beast::error_code ec, size_t) {
        // An answer cut short (too long, or the connection dropped in its body) still says
        // what its status line says.
        if (!parser_.is_header_done()) return Fail(ec);
        const auto& res = parser_.get();
        out_.status = static_cast<int>(res.result_int());
        out_.retry_after = std::string(res[http::field::retry_after]);
        if (out_.status < 200 || out_.status > 299) {
          std::string excerpt = res.body().substr(0, kExcerptBytes);
          out_.error = "HTTP " + std::to_string(out_.status) +
                       (excerpt.empty() ? "" : ": " + log::Sanitize(excerpt, kExcerptBytes));
          if (out_.status >= 300 && out_.status <= 399) {
            out_.error += " (redirects are not followed: fix the webhook's url)";
          }
        }
        Finish();
      });
    });
  }

  void Fail(beast::error_code ec) {
    if (finished_) return;
    out_.error = timed_out_
                     ? "timeout after " + std::to_string(timeout_.count()) + " ms (" + step_ + ")"
                     : step_ + ": " + ec.message();
    Finish();
  }

  void Finish() {
    finished_ = true;
    deadline_.cancel();
    Close();
  }

  void Abort() {
    resolver_.cancel();
    Close();
  }

  void Close() {
    beast::error_code ignored;
    if (plain_) plain_->socket().close(ignored);
    if (tls_stream_) beast::get_lowest_layer(*tls_stream_).socket().close(ignored);
  }

  net::io_context& io_;
  ssl::context& tls_context_;
  const WebhookUrl& url_;
  HttpAttempt& out_;
  tcp::resolver resolver_;
  net::steady_timer deadline_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<ssl::stream<beast::tcp_stream>> tls_stream_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::chrono::milliseconds timeout_{10000};
  std::string step_;
  bool finished_ = false;
  bool timed_out_ = false;
};

}  // namespace

struct HttpWebhookSender::Impl {
  ssl::context tls{ssl::context::tls_client};
  std::mutex mu;
  bool cancelled = false;
  std::set<net::io_context*> running;
};

HttpWebhookSender::HttpWebhookSender(const std::string& ca_file) : impl_(std::make_unique<Impl>()) {
  impl_->tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
  impl_->tls.set_default_verify_paths();
  if (!ca_file.empty()) impl_->tls.load_verify_file(ca_file);
}

HttpWebhookSender::~HttpWebhookSender() = default;

void HttpWebhookSender::Cancel() {
  std::lock_guard lock(impl_->mu);
  impl_->cancelled = true;
  for (auto* io : impl_->running) io->stop();
}

HttpAttempt HttpWebhookSender::Post(const WebhookRequest& request) {
  HttpAttempt out;
  const auto started = Clock::now();
  std::string why;
  const auto url = ParseWebhookUrl(request.url, &why);
  if (!url) {
    out.error = "bad url: " + why;
    return out;
  }
  net::io_context io;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->cancelled) {
      out.cancelled = true;
      return out;
    }
    impl_->running.insert(&io);
  }
  {
    Exchange exchange(io, impl_->tls, *url, request, out);
    exchange.Start();
    io.run();
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->running.erase(&io);
    if (io.stopped() && impl_->cancelled && out.status == 0 && out.error.empty()) {
      out.cancelled = true;
    }
  }
  out.latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return out;
}

}  // namespace csms::control
