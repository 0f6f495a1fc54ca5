#include "http_upload.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <type_traits>
#include <utility>

#include "csms/charger_sim/sim_util.h"

namespace csms::sim {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr size_t kAnswerBodyLimit = 16 * 1024;

template <class Stream>
class Upload : public HttpUpload, public std::enable_shared_from_this<Upload<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Upload(net::io_context& io, std::shared_ptr<ssl::context> tls, HttpUploadRequest request,
         std::function<void(HttpUploadResult)> done)
      : io_(io),
        tls_(std::move(tls)),
        resolver_(io),
        stream_(MakeStream(io, tls_.get())),
        request_(std::move(request)),
        done_(std::move(done)) {}

  void Start() {
    http::verb verb = http::string_to_verb(request_.method);
    message_.method(verb);
    message_.target(request_.url.target);
    message_.version(11);
    message_.set(http::field::host, HttpHostHeader(request_.url));
    message_.set(http::field::user_agent, "csms-charger-sim");
    message_.set(http::field::content_type, request_.content_type);
    message_.set(http::field::connection, "close");
    message_.body() = std::move(request_.body);
    message_.prepare_payload();  // Content-Length
    parser_.body_limit(kAnswerBodyLimit);
    parser_.eager(true);
    beast::get_lowest_layer(stream_).expires_after(request_.timeout);
    resolver_.async_resolve(
        request_.url.host, request_.url.port,
        [self = this->shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
          if (self->finished_) return;
          if (ec) return self->FailWith("resolve", ec);
          beast::get_lowest_layer(self->stream_)
              .async_connect(r, [self](beast::error_code ec, const tcp::endpoint&) {
                if (self->finished_) return;
                if (ec) return self->FailWith("connect", ec);
                // The header and the body are separate writes: without this the body waits
                // for the server's delayed ACK.
                beast::error_code ignored;
                beast::get_lowest_layer(self->stream_)
                    .socket()
                    .set_option(tcp::no_delay(true), ignored);
                if constexpr (kTls) {
                  self->TlsHandshake();
                } else {
                  self->Exchange();
                }
              });
        });
  }

  void Cancel() override {
    net::post(io_, [self = this->shared_from_this()] {
      if (self->finished_) return;
      self->Finish({0, "canceled", ""});
    });
  }

 private:
  static Stream MakeStream(net::io_context& io, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(io, *tls);
    } else {
      (void)tls;
      return Stream(io);
    }
  }

  // SNI and the name check as for wss:// (ws_client.cc), then the handshake.
  void TlsHandshake() {
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      const std::string& host = request_.url.host;
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      bool ok;
      if (IsIpLiteral(host)) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
      } else {
        ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
             X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
      }
      if (!ok) return FailWith("TLS set-up", net::error::invalid_argument);
      beast::get_lowest_layer(stream_).expires_after(request_.timeout);
      stream_.async_handshake(ssl::stream_base::client, [self = this->shared_from_this()](
                                                            beast::error_code ec) {
        if (self->finished_) return;
        if (ec) {
          long verify = SSL_get_verify_result(self->stream_.native_handle());
          if (verify != X509_V_OK) {
            return self->Finish(
                {0, std::string("TLS handshake: ") + X509_verify_cert_error_string(verify), ""});
          }
          return self->FailWith("TLS handshake", ec);
        }
        self->Exchange();
      });
    }
  }

  // Writes the request and reads the answer at the same time: a server may answer (413) and
  // close before it has read the whole body.
  void Exchange() {
    beast::get_lowest_layer(stream_).expires_after(request_.timeout);
    http::async_write(stream_, message_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (self->finished_) return;
                        // The read still tells whether an answer came before the close.
                        if (ec) self->write_error_ = "write: " + ec.message();
                      });
    http::async_read(
        stream_, buffer_, parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
          if (self->finished_) return;
          if (self->parser_.is_header_done()) {
            // The status is what counts; a cut-off or too long body does not.
            const auto& answer = self->parser_.get();
            return self->Finish({static_cast<int>(answer.result_int()), "", answer.body()});
          }
          std::string why = "read: " + ec.message();
          if (!self->write_error_.empty()) why = self->write_error_ + "; " + why;
          self->Finish({0, why, ""});
        });
  }

  void FailWith(const char* what, beast::error_code ec) {
    Finish({0, std::string(what) + ": " + ec.message(), ""});
  }

  // Closes everything and hands the result on once.
  void Finish(HttpUploadResult result) {
    if (finished_) return;
    finished_ = true;
    resolver_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    auto done = std::move(done_);
    if (done) done(std::move(result));
  }

  net::io_context& io_;
  std::shared_ptr<ssl::context> tls_;
  tcp::resolver resolver_;
  Stream stream_;
  HttpUploadRequest request_;
  std::function<void(HttpUploadResult)> done_;
  http::request<http::string_body> message_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::string write_error_;
  bool finished_ = false;
};

// For failures before anything starts: `done` still runs later, on `io`.
class Failed : public HttpUpload {
 public:
  void Cancel() override {}
};

}  // namespace

std::shared_ptr<HttpUpload> StartHttpUpload(net::io_context& io, std::shared_ptr<ssl::context> tls,
                                            HttpUploadRequest request,
                                            std::function<void(HttpUploadResult)> done) {
  auto fail = [&](std::string why) -> std::shared_ptr<HttpUpload> {
    net::post(io, [done = std::move(done), why = std::move(why)] { done({0, why, ""}); });
    return std::make_shared<Failed>();
  };
  if (http::string_to_verb(request.method) == http::verb::unknown) {
    return fail("unknown HTTP method " + request.method);
  }
  if (request.url.tls) {
    if (!tls) return fail("https:// is not available (no TLS context)");
    auto upload = std::make_shared<Upload<TlsStream>>(io, std::move(tls), std::move(request),
                                                      std::move(done));
    upload->Start();
    return upload;
  }
  auto upload =
      std::make_shared<Upload<PlainStream>>(io, nullptr, std::move(request), std::move(done));
  upload->Start();
  return upload;
}

}  // namespace csms::sim
