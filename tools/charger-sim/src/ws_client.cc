#include "ws_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <csignal>
#include <deque>
#include <functional>
#include <memory>
#include <random>

#include "csms/common/log.h"

namespace csms::sim {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr const char* kLog = "charger-sim";
constexpr const char* kSubprotocol = "ocpp2.0.1";

// Everything that belongs to one WebSocket connection. Handlers hold it by shared_ptr, so a
// dropped connection's late completions touch only their own, still-alive state.
struct Connection {
  explicit Connection(net::io_context& io) : ws(io) {}
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buffer;
  websocket::response_type response;
  std::deque<std::string> writes;
  bool writing = false;
  bool open = false;
  bool closing = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(net::io_context& io, const ClientOptions& options, ChargerOptions charger_options,
          std::function<void()> on_finished)
      : io_(io),
        options_(options),
        charger_(std::move(charger_options), clock_),
        resolver_(io),
        charger_timer_(io),
        reconnect_timer_(io),
        rng_(std::random_device{}()),
        on_finished_(std::move(on_finished)) {
    target_ = StationTarget(options_.url, charger_.station_id());
    host_header_ = HostHeader(options_.url);
    if (!options_.password.empty()) {
      authorization_ = "Basic " + Base64Encode(charger_.station_id() + ":" + options_.password);
    }
  }

  void Start(std::chrono::milliseconds initial_delay) { ScheduleConnect(initial_delay); }

  // Closes the WebSocket with 1000 once queued frames are written.
  void Stop() {
    if (stopping_) return;
    stopping_ = true;
    reconnect_timer_.cancel();
    charger_timer_.cancel();
    resolver_.cancel();
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
  std::string Tag() const { return "[" + charger_.station_id() + "] "; }

  void ScheduleConnect(std::chrono::milliseconds delay) {
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopping_) return;
      self->Connect();
    });
  }

  void Connect() {
    auto conn = std::make_shared<Connection>(io_);
    conn_ = conn;
    CSMS_LOG(kDebug, kLog) << Tag() << "connecting to ws://" << host_header_ << target_;
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
                self->Handshake(conn);
              });
        });
  }

  void Handshake(const std::shared_ptr<Connection>& conn) {
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
          if (ec) return self->Fail(conn, "handshake", ec);
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

  void OnOpen(const std::shared_ptr<Connection>& conn) {
    conn->open = true;
    failures_ = 0;
    CSMS_LOG(kInfo, kLog) << Tag() << "connected to ws://" << host_header_ << target_ << " ("
                          << kSubprotocol << ")";
    charger_.OnConnected();
    Flush();
    Read(conn);
  }

  void Read(const std::shared_ptr<Connection>& conn) {
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
    ArmTimer();
  }

  void Write(const std::shared_ptr<Connection>& conn) {
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
                           if (self->stopping_) self->StartClose(conn);
                         });
  }

  void StartClose(const std::shared_ptr<Connection>& conn) {
    if (conn->closing) return;
    conn->closing = true;
    conn->ws.async_close(websocket::close_code::normal,
                         [self = shared_from_this(), conn](beast::error_code ec) {
                           if (ec) {
                             CSMS_LOG(kDebug, kLog) << self->Tag() << "close: " << ec.message();
                           }
                           CSMS_LOG(kInfo, kLog) << self->Tag() << "WebSocket closed (1000)";
                           if (conn == self->conn_) self->conn_.reset();
                           self->Finish();
                         });
  }

  void Fail(const std::shared_ptr<Connection>& conn, const char* what, beast::error_code ec) {
    if (conn != conn_) return;
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
  RealClock clock_;
  Charger charger_;
  tcp::resolver resolver_;
  net::steady_timer charger_timer_;
  net::steady_timer reconnect_timer_;
  std::mt19937_64 rng_;
  std::function<void()> on_finished_;
  std::string target_;
  std::string host_header_;
  std::string authorization_;
  std::shared_ptr<Connection> conn_;
  int failures_ = 0;
  bool stopping_ = false;
  bool finished_ = false;
};

}  // namespace

int RunChargers(const std::vector<ChargerOptions>& chargers, const ClientOptions& options) {
  net::io_context io(1);
  net::signal_set signals(io, SIGINT, SIGTERM);
  net::steady_timer run_timer(io);
  net::steady_timer force_timer(io);
  size_t running = chargers.size();
  bool shutting_down = false;
  std::vector<std::shared_ptr<Session>> sessions;

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
    sessions.push_back(std::make_shared<Session>(io, options, chargers[i], on_finished));
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
