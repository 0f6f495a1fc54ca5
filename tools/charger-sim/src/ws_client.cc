#include "ws_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <csignal>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <type_traits>
#include <utility>

#include "csms/charger_sim/station_tls.h"
#include "csms/common/log.h"
#include "http_upload.h"

namespace csms::sim {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
using namespace std::chrono_literals;

constexpr const char* kLog = "charger-sim";
constexpr const char* kSubprotocol = "ocpp2.0.1";

// The subject CN of the context's own certificate; empty when there is none.
std::string OwnCommonName(ssl::context& ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
  if (cert == nullptr) return "";
  X509_NAME* subject = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return "";
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return cn;
}

// Everything that belongs to one WebSocket connection. Handlers hold it by shared_ptr, so a
// dropped connection's late completions touch only their own, still-alive state.
template <class Ws>
struct Connection {
  explicit Connection(net::io_context& io, ssl::context* tls) : ws(MakeWs(io, tls)) {}
  static Ws MakeWs(net::io_context& io, ssl::context* tls) {
    if constexpr (std::is_same_v<Ws, TlsWs>) {
      return Ws(io, *tls);
    } else {
      (void)tls;
      return Ws(io);
    }
  }
  Ws ws;
  beast::flat_buffer buffer;
  websocket::response_type response;
  std::deque<std::string> writes;
  bool writing = false;
  bool open = false;
  bool closing = false;
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void Start(std::chrono::milliseconds initial_delay) = 0;
  // Closes the WebSocket with 1000 once queued frames are written.
  virtual void Stop() = 0;
};

// One charger's connection, over ws:// (PlainWs) or wss:// (TlsWs).
template <class Ws>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Ws>> {
 public:
  static constexpr bool kTls = std::is_same_v<Ws, TlsWs>;
  using Conn = Connection<Ws>;

  Session(net::io_context& io, const ClientOptions& options, ChargerOptions charger_options,
          std::shared_ptr<ssl::context> tls, const std::string& password, std::string password_file,
          std::function<void()> on_finished)
      : io_(io),
        options_(options),
        password_file_(std::move(password_file)),
        tls_(std::move(tls)),
        charger_(std::move(charger_options), clock_),
        resolver_(io),
        charger_timer_(io),
        reconnect_timer_(io),
        rng_(std::random_device{}()),
        on_finished_(std::move(on_finished)) {
    target_ = StationTarget(options_.url, charger_.station_id());
    host_header_ = HostHeader(options_.url);
    url_text_ = UrlText(options_.url);
    SetPassword(password);
  }

  void Start(std::chrono::milliseconds initial_delay) override { ScheduleConnect(initial_delay); }

  void Stop() override {
    if (stopping_) return;
    stopping_ = true;
    reconnect_timer_.cancel();
    charger_timer_.cancel();
    resolver_.cancel();
    if (upload_) upload_->Cancel();
    if (conn_ && conn_->open) {
      if (!conn_->writing) StartClose(conn_);
      return;  // otherwise the write handler closes when the queue is empty
    }
    if (conn_) {
      beast::get_lowest_layer(conn_->ws).close();
      conn_.reset();
    }
    Finish();
  }

 private:
  using std::enable_shared_from_this<Session<Ws>>::shared_from_this;

  std::string Tag() const { return "[" + charger_.station_id() + "] "; }

  // Used from the next handshake on.
  void SetPassword(const std::string& password) {
    authorization_.clear();
    if (!password.empty()) {
      authorization_ = "Basic " + Base64Encode(charger_.station_id() + ":" + password);
    }
  }

  // A01: the charger accepted a new password; its CALLRESULT is in conn_->writes already.
  void OnNewPassword(const std::string& password) {
    SetPassword(password);
    if (!password_file_.empty()) {
      std::string error;
      if (!WritePasswordFile(password_file_, password, &error)) {
        CSMS_LOG(kError, kLog) << Tag() << "new password not saved (" << error
                               << "); a restart will use the old one";
      }
    }
    if (stopping_ || !conn_ || !conn_->open || conn_->closing) return;
    CSMS_LOG(kInfo, kLog) << Tag() << "password changed by the CSMS; reconnecting";
    relogin_ = true;
    // Close once the reply is written: now if the queue is empty, else from the write handler.
    if (!conn_->writing && conn_->writes.empty()) StartClose(conn_);
  }

  // B11/B12: the charger accepted a Reset and is ready to reboot; the CALLRESULT (and any Ended
  // event) is in conn_->writes already. The reboot is a close with 1000 and a reconnect, after
  // which the charger sends BootNotification with reason RemoteReset.
  void OnReboot() {
    if (stopping_ || !conn_ || !conn_->open || conn_->closing) return;
    CSMS_LOG(kInfo, kLog) << Tag() << "rebooting (Reset): closing the connection";
    relogin_ = true;
    if (!conn_->writing && conn_->writes.empty()) StartClose(conn_);
  }

  // Our own close for a password change or a reboot is done (or the socket failed meanwhile).
  void Relogin(const std::shared_ptr<Conn>& conn) {
    if (conn != conn_) return;
    relogin_ = false;
    conn->open = false;
    beast::get_lowest_layer(conn->ws).close();
    conn_.reset();
    failures_ = 0;
    charger_.OnDisconnected();
    Flush();
    auto delay = NextReconnectDelay();
    CSMS_LOG(kInfo, kLog) << Tag() << "reconnecting in " << delay.count() << " ms";
    ScheduleConnect(delay);
  }

  void ScheduleConnect(std::chrono::milliseconds delay) {
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopping_) return;
      self->Connect();
    });
  }

  void Connect() {
    auto conn = std::make_shared<Conn>(io_, tls_.get());
    conn_ = conn;
    CSMS_LOG(kDebug, kLog) << Tag() << "connecting to " << url_text_ << "/"
                           << PercentEncode(charger_.station_id());
    resolver_.async_resolve(
        options_.url.host, options_.url.port,
        [self = shared_from_this(), conn](beast::error_code ec, tcp::resolver::results_type r) {
          if (conn != self->conn_) return;
          if (ec) return self->Fail(conn, "resolve", ec);
          beast::get_lowest_layer(conn->ws).expires_after(10s);
          beast::get_lowest_layer(conn->ws).async_connect(
              r, [self, conn](beast::error_code ec, const tcp::endpoint&) {
                if (conn != self->conn_) return;
                if (ec) return self->Fail(conn, "connect", ec);
                // Beast writes a masked client frame in pieces of 4 KiB: with Nagle on, each
                // piece after the first waits for the CSMS's delayed ACK (40 ms per large frame,
                // e.g. every NotifyReport part).
                beast::error_code ignored;
                beast::get_lowest_layer(conn->ws).socket().set_option(tcp::no_delay(true), ignored);
                if constexpr (kTls) {
                  self->TlsHandshake(conn);
                } else {
                  self->Handshake(conn);
                }
              });
        });
  }

  // SNI and the name check, then the TLS handshake; the WebSocket upgrade follows.
  void TlsHandshake(const std::shared_ptr<Conn>& conn) {
    SSL* ssl = conn->ws.next_layer().native_handle();
    const std::string& host = options_.url.host;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool ok;
    if (IsIpLiteral(host)) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    } else {
      ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
           X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
    }
    if (!ok) return Fail(conn, "TLS set-up", net::error::invalid_argument);
    beast::get_lowest_layer(conn->ws).expires_after(15s);
    conn->ws.next_layer().async_handshake(
        ssl::stream_base::client, [self = shared_from_this(), conn](beast::error_code ec) {
          if (conn != self->conn_) return;
          if (ec) {
            SSL* ssl = conn->ws.next_layer().native_handle();
            long verify = SSL_get_verify_result(ssl);
            if (verify != X509_V_OK) {
              CSMS_LOG(kWarn, kLog) << self->Tag() << "the CSMS certificate was not accepted: "
                                    << X509_verify_cert_error_string(verify);
            }
            return self->Fail(conn, "TLS handshake", ec);
          }
          self->Handshake(conn);
        });
  }

  // "TLSv1.3 TLS_AES_256_GCM_SHA384" for the log.
  static std::string TlsSummary(const std::shared_ptr<Conn>& conn) {
    if constexpr (kTls) {
      SSL* ssl = conn->ws.next_layer().native_handle();
      return std::string(", ") + SSL_get_version(ssl) + " " + SSL_get_cipher_name(ssl);
    } else {
      (void)conn;
      return "";
    }
  }

  void Handshake(const std::shared_ptr<Conn>& conn) {
    beast::get_lowest_layer(conn->ws).expires_never();  // the WebSocket has its own timeouts
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = 15s;
    // Pings after 30 s of silence find half-open connections (DIGEST 1.4).
    timeouts.idle_timeout = 60s;
    timeouts.keep_alive_pings = true;
    conn->ws.set_option(timeouts);
    conn->ws.set_option(
        websocket::stream_base::decorator([auth = authorization_](websocket::request_type& req) {
          req.set(http::field::sec_websocket_protocol, kSubprotocol);
          req.set(http::field::user_agent, "csms-charger-sim");
          if (!auth.empty()) req.set(http::field::authorization, auth);
        }));
    conn->ws.async_handshake(
        conn->response, host_header_, target_,
        [self = shared_from_this(), conn](beast::error_code ec) {
          if (conn != self->conn_) return;
          if (ec == websocket::error::upgrade_declined) {
            CSMS_LOG(kWarn, kLog) << self->Tag() << "CSMS declined the WebSocket upgrade: HTTP "
                                  << conn->response.result_int() << " "
                                  << log::Sanitize(std::string(conn->response.reason()), 100);
          }
          if (ec) return self->Fail(conn, "WebSocket handshake", ec);
          auto selected = conn->response[http::field::sec_websocket_protocol];
          if (selected != kSubprotocol) {
            CSMS_LOG(kError, kLog) << self->Tag() << "CSMS selected subprotocol '"
                                   << log::Sanitize(std::string(selected), 100) << "' instead of "
                                   << kSubprotocol << "; closing";
            conn->closing = true;
            conn->ws.async_close(
                websocket::close_code::protocol_error, [self, conn](beast::error_code) {
                  self->Fail(conn, "subprotocol negotiation", net::error::no_protocol_option);
                });
            return;
          }
          self->OnOpen(conn);
        });
  }

  void OnOpen(const std::shared_ptr<Conn>& conn) {
    conn->open = true;
    failures_ = 0;
    CSMS_LOG(kInfo, kLog) << Tag() << "connected to " << url_text_ << "/"
                          << PercentEncode(charger_.station_id()) << " (" << kSubprotocol
                          << TlsSummary(conn) << ")";
    charger_.OnConnected();
    Flush();
    Read(conn);
  }

  void Read(const std::shared_ptr<Conn>& conn) {
    conn->ws.async_read(
        conn->buffer, [self = shared_from_this(), conn](beast::error_code ec, size_t) {
          if (conn != self->conn_) return;
          if (ec) return self->Fail(conn, "read", ec);
          std::string text = beast::buffers_to_string(conn->buffer.data());
          conn->buffer.consume(conn->buffer.size());
          if (!conn->ws.got_text()) {
            CSMS_LOG(kWarn, kLog) << self->Tag() << "ignoring a binary frame (OCPP-J is text only)";
          } else {
            self->charger_.OnMessage(text);
            self->Flush();
          }
          if (!conn->closing) self->Read(conn);
        });
  }

  // Moves the charger's outgoing frames to the socket and re-arms its timer.
  void Flush() {
    std::vector<std::string> frames = charger_.TakeOutgoing();
    if (conn_ && conn_->open && !conn_->closing) {
      for (auto& frame : frames) conn_->writes.push_back(std::move(frame));
      Write(conn_);
    } else if (!frames.empty()) {
      CSMS_LOG(kDebug, kLog) << Tag() << "not connected; dropped " << frames.size() << " frame(s)";
    }
    if (auto password = charger_.TakeNewPassword()) OnNewPassword(*password);
    if (charger_.TakeReboot()) OnReboot();
    if (auto attempt = charger_.TakeLogUpload()) StartLogUpload(*attempt);
    ArmTimer();
  }

  // GetLog: one attempt of the upload, on this io_context (the WebSocket goes on meanwhile).
  void StartLogUpload(const LogUploadAttempt& attempt) {
    if (stopping_) return;
    const int request_id = attempt.request_id;
    // A new GetLog cancels the upload under way (its late answer is ignored by the charger).
    if (upload_) upload_->Cancel();
    auto report = [self = shared_from_this(), request_id,
                   seq = ++upload_seq_](HttpUploadResult result) {
      if (seq == self->upload_seq_) self->upload_.reset();
      if (self->stopping_) return;
      std::string detail = result.error;
      if (detail.empty() && !result.body.empty()) detail = result.body;
      self->charger_.OnLogUploadDone(request_id, result.status, detail);
      self->Flush();
    };
    HttpUploadRequest request;
    std::string error;
    auto url = ParseHttpUrl(attempt.remote_location, &error);  // the charger checked it already
    std::string content;
    if (url && !options_.log.file.empty()) {
      std::ifstream in(options_.log.file, std::ios::binary);
      if (in) content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (!in || in.bad()) error = "cannot read --log-file " + options_.log.file;
    } else if (url) {
      content = GeneratedLog(charger_.station_id(), attempt.log_type, options_.log.size_bytes);
    }
    if (!url || !error.empty()) {
      net::post(io_, [report, error] { report({0, error, ""}); });
      return;
    }
    std::shared_ptr<ssl::context> tls;
    if (url->tls) {
      if (!upload_tls_) {
        upload_tls_ = MakeStationTlsContext({options_.tls.ca_file, "", "", ""}, &error);
        if (!upload_tls_) {
          CSMS_LOG(kWarn, kLog) << Tag() << "no TLS for the https:// log upload: " << error;
        }
      }
      tls = upload_tls_;  // none: StartHttpUpload reports the failure
    }
    request.url = *url;
    request.timeout = 60s;
    const size_t bytes = content.size();
    if (options_.log.method == LogUploadMethod::kPost) {
      const std::string boundary = MultipartBoundary(content, rng_());
      request.method = "POST";
      request.content_type = MultipartContentType(boundary);
      request.body = MultipartFileBody(boundary, attempt.filename, content);
    } else {
      request.method = "PUT";
      request.content_type = "application/octet-stream";
      request.body = std::move(content);
    }
    CSMS_LOG(kInfo, kLog) << Tag() << "log upload " << request_id << " attempt " << attempt.attempt
                          << "/" << attempt.max_attempts << ": " << request.method << " " << bytes
                          << " bytes to " << log::Sanitize(attempt.remote_location, 200);
    upload_ = StartHttpUpload(io_, std::move(tls), std::move(request), std::move(report));
  }

  void Write(const std::shared_ptr<Conn>& conn) {
    if (conn->writing || conn->writes.empty()) return;
    conn->writing = true;
    conn->ws.text(true);
    conn->ws.async_write(net::buffer(conn->writes.front()),
                         [self = shared_from_this(), conn](beast::error_code ec, size_t) {
                           conn->writing = false;
                           if (conn != self->conn_) return;
                           if (ec) return self->Fail(conn, "write", ec);
                           conn->writes.pop_front();
                           if (!conn->writes.empty()) return self->Write(conn);
                           if (self->stopping_ || self->relogin_) self->StartClose(conn);
                         });
  }

  void StartClose(const std::shared_ptr<Conn>& conn) {
    if (conn->closing) return;
    conn->closing = true;
    conn->ws.async_close(websocket::close_code::normal,
                         [self = shared_from_this(), conn](beast::error_code ec) {
                           if (ec) {
                             CSMS_LOG(kDebug, kLog) << self->Tag() << "close: " << ec.message();
                           }
                           CSMS_LOG(kInfo, kLog) << self->Tag() << "WebSocket closed (1000)";
                           if (!self->stopping_) return self->Relogin(conn);
                           if (conn == self->conn_) self->conn_.reset();
                           self->Finish();
                         });
  }

  void Fail(const std::shared_ptr<Conn>& conn, const char* what, beast::error_code ec) {
    if (conn != conn_) return;
    // The read ends too when our close for a password change completes.
    if (relogin_ && conn->closing && !stopping_) return Relogin(conn);
    const bool was_open = conn->open;
    conn->open = false;
    beast::get_lowest_layer(conn->ws).close();
    conn_.reset();
    if (stopping_) return Finish();
    if (was_open) {
      CSMS_LOG(kWarn, kLog) << Tag() << "connection lost (" << what << ": " << ec.message() << ")";
      failures_ = 0;
      charger_.OnDisconnected();
    } else {
      CSMS_LOG(kWarn, kLog) << Tag() << what << " failed: " << ec.message();
    }
    Flush();
    auto delay = NextReconnectDelay();
    CSMS_LOG(kInfo, kLog) << Tag() << "reconnecting in " << delay.count() << " ms";
    ScheduleConnect(delay);
  }

  // Base delay doubling per failed attempt (capped), plus jitter against reconnect storms.
  std::chrono::milliseconds NextReconnectDelay() {
    const auto base = options_.reconnect_delay;
    auto delay = base * (1 << std::min(failures_, 4));
    delay = std::min(delay, std::max(base, std::chrono::milliseconds(60s)));
    ++failures_;
    std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(1, base.count() / 2));
    return delay + std::chrono::milliseconds(jitter(rng_));
  }

  void ArmTimer() {
    if (stopping_) return;
    std::optional<TimePoint> deadline = charger_.NextDeadline();
    if (!deadline) {
      charger_timer_.cancel();
      return;
    }
    auto wait = std::max<std::chrono::microseconds>(*deadline - clock_.Now(), 0us);
    charger_timer_.expires_after(wait);
    charger_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopping_) return;
      self->charger_.OnTimer();
      self->Flush();
    });
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    if (on_finished_) on_finished_();
  }

  net::io_context& io_;
  const ClientOptions& options_;
  std::string password_file_;          // with the station id filled in; empty = none
  std::shared_ptr<ssl::context> tls_;  // wss:// only
  RealClock clock_;
  Charger charger_;
  tcp::resolver resolver_;
  net::steady_timer charger_timer_;
  net::steady_timer reconnect_timer_;
  std::mt19937_64 rng_;
  std::function<void()> on_finished_;
  std::string target_;
  std::string host_header_;
  std::string url_text_;
  std::string authorization_;
  std::shared_ptr<Conn> conn_;
  std::shared_ptr<HttpUpload> upload_;        // the GetLog upload under way
  uint64_t upload_seq_ = 0;                   // which one upload_ is
  std::shared_ptr<ssl::context> upload_tls_;  // for https:// uploads, made on first use
  int failures_ = 0;
  bool relogin_ = false;  // closing to reconnect (a new password, or a reboot)
  bool stopping_ = false;
  bool finished_ = false;
};

}  // namespace

int RunChargers(const std::vector<ChargerOptions>& charger_options, const ClientOptions& options) {
  std::vector<ChargerOptions> chargers = charger_options;
  net::io_context io(1);
  net::signal_set signals(io, SIGINT, SIGTERM);
  net::steady_timer run_timer(io);
  net::steady_timer force_timer(io);
  size_t running = chargers.size();
  bool shutting_down = false;
  std::vector<std::shared_ptr<SessionBase>> sessions;

  // One TLS context per distinct client certificate ("{id}" gives one per station), all loaded
  // before anything connects so that a bad file stops the program at once.
  std::vector<std::shared_ptr<ssl::context>> contexts(chargers.size());
  if (options.url.tls) {
    std::map<std::pair<std::string, std::string>, std::shared_ptr<ssl::context>> by_files;
    for (size_t i = 0; i < chargers.size(); ++i) {
      auto files =
          std::make_pair(ExpandIdPlaceholder(options.tls.client_cert, chargers[i].station_id),
                         ExpandIdPlaceholder(options.tls.client_key, chargers[i].station_id));
      auto& ctx = by_files[files];
      if (!ctx) {
        std::string error;
        ctx = MakeStationTlsContext({options.tls.ca_file, files.first, files.second, ""}, &error);
        if (!ctx) {
          CSMS_LOG(kError, kLog) << error;
          return 2;
        }
      }
      contexts[i] = ctx;
      // A station's certificate CN is its serial number (A00.FR.405), and the CSMS compares the
      // two at BootNotification (B01.FR.11).
      if (std::string cn = OwnCommonName(*ctx); !cn.empty() && chargers[i].serial_number.empty()) {
        if (cn.size() > 25) {
          CSMS_LOG(kWarn, kLog) << "[" << chargers[i].station_id << "] certificate CN '" << cn
                                << "' is longer than a serialNumber (25); sending it cut short";
        }
        chargers[i].serial_number = cn;
      }
    }
  }

  // Passwords too are read before anything connects.
  std::vector<std::string> passwords(chargers.size(), options.password);
  std::vector<std::string> password_files(chargers.size());
  if (!options.password_file.empty()) {
    for (size_t i = 0; i < chargers.size(); ++i) {
      password_files[i] = ExpandIdPlaceholder(options.password_file, chargers[i].station_id);
      std::string error;
      if (!ReadPasswordFile(password_files[i], &passwords[i], &error)) {
        CSMS_LOG(kError, kLog) << "--password-file " << error;
        return 2;
      }
    }
  }

  auto on_finished = [&] {
    if (--running > 0) return;
    // Everything is closed: let io.run() return.
    signals.cancel();
    run_timer.cancel();
    force_timer.cancel();
  };
  auto shutdown = [&](const std::string& why) {
    if (shutting_down) return;
    shutting_down = true;
    CSMS_LOG(kInfo, kLog) << why << "; closing " << sessions.size() << " connection(s)";
    run_timer.cancel();
    force_timer.expires_after(5s);
    force_timer.async_wait([&](beast::error_code ec) {
      if (ec) return;
      CSMS_LOG(kWarn, kLog) << "connections did not close in time; exiting";
      io.stop();
    });
    for (auto& session : sessions) session->Stop();
  };
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](beast::error_code ec, int signal) {
      if (ec) return;
      if (shutting_down) {
        io.stop();  // a second signal: do not wait for close handshakes
        return;
      }
      shutdown(signal == SIGINT ? "SIGINT" : "SIGTERM");
      wait_signal();
    });
  };
  wait_signal();

  for (size_t i = 0; i < chargers.size(); ++i) {
    if (options.url.tls) {
      sessions.push_back(std::make_shared<Session<TlsWs>>(
          io, options, chargers[i], contexts[i], passwords[i], password_files[i], on_finished));
    } else {
      sessions.push_back(std::make_shared<Session<PlainWs>>(
          io, options, chargers[i], nullptr, passwords[i], password_files[i], on_finished));
    }
    // Spread the first connects so many chargers do not hit the CSMS in one burst.
    sessions.back()->Start(std::chrono::milliseconds(20 * i));
  }
  if (options.run_time.count() > 0) {
    run_timer.expires_after(options.run_time);
    run_timer.async_wait([&](beast::error_code ec) {
      if (!ec) shutdown("run time of " + std::to_string(options.run_time.count()) + " s over");
    });
  }
  io.run();
  return 0;
}

}  // namespace csms::sim
