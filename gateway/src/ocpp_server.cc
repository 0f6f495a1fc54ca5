// The only translation unit with the WebSocket session: Beast templates are slow to compile.
#include "csms/gateway/ocpp_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "csms/common/log.h"
#include "csms/common/metrics.h"
#include "csms/common/ocpp_frame.h"
#include "csms/common/ocpp_redact.h"
#include "csms/common/ocpp_schema.h"
#include "csms/gateway/handshake.h"
#include "csms/gateway/listener.h"
#include "csms/gateway/tls_context.h"
#include "csms/gateway/tls_socket.h"

namespace csms::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

constexpr const char* kLog = "gateway";

// What every session of one server shares; sessions keep it alive.
struct ServerShared {
  ServerShared(CallRouter& r, Backend& b, ConnectionRegistry& reg, std::string address,
               OcppServerOptions o, FrameTrace* t)
      : router(r),
        backend(b),
        registry(reg),
        advertise_address(std::move(address)),
        options(o),
        trace(t),
        auth_failures(o.auth_failure_burst, o.auth_failure_refill) {
    auto& registry = metrics::Registry::Default();
    auto& refused = registry.AddCounter(
        "csms_gateway_connections_refused_total",
        "Charger connections refused at the WebSocket upgrade, by reason.", {"reason"});
    refused_not_websocket = &refused.Labels({"not_websocket"});
    refused_bad_station_id = &refused.Labels({"bad_station_id"});
    refused_bad_subprotocol = &refused.Labels({"bad_subprotocol"});
    refused_connection_limit = &refused.Labels({"connection_limit"});
    refused_unauthorized = &refused.Labels({"unauthorized"});
    refused_unknown_station = &refused.Labels({"unknown_station"});
    refused_rate_limited = &refused.Labels({"rate_limited"});
    refused_auth_unavailable = &refused.Labels({"auth_unavailable"});
    refused_forbidden = &refused.Labels({"forbidden"});
    refused_tls_handshake = &refused.Labels({"tls_handshake"});
    refused_bad_certificate = &refused.Labels({"bad_certificate"});
    accepted = &registry
                    .AddCounter("csms_gateway_connections_total",
                                "Charger WebSocket connections established.")
                    .Get();
    read_buffer_bytes =
        &registry
             .AddGauge("csms_gateway_read_buffer_bytes",
                       "Bytes that charger connections keep reserved for reading frames between "
                       "frames (a large frame's buffer is released once it is handled).")
             .Get();
    frame_errors = &registry.AddCounter("csms_ocpp_call_errors_total",
                                        "CALLERRORs sent to chargers, by action and error code.",
                                        {"action", "code"});
  }
  CallRouter& router;
  Backend& backend;
  ConnectionRegistry& registry;
  std::string advertise_address;
  OcppServerOptions options;
  FrameTrace* trace;  // nullptr when tracing is off
  std::atomic<size_t> open_connections{0};
  metrics::Counter* refused_not_websocket;
  metrics::Counter* refused_bad_station_id;
  metrics::Counter* refused_bad_subprotocol;
  metrics::Counter* refused_connection_limit;
  metrics::Counter* refused_unauthorized;
  metrics::Counter* refused_unknown_station;
  metrics::Counter* refused_rate_limited;
  metrics::Counter* refused_auth_unavailable;
  metrics::Counter* refused_forbidden;
  metrics::Counter* refused_tls_handshake;
  metrics::Counter* refused_bad_certificate;
  metrics::Counter* accepted;
  metrics::Gauge* read_buffer_bytes;
  std::string tls_client_org;  // profile 3: required subject O of charger certificates
  FailureLimiter auth_failures;
  // Stations that control said are provisioned with a profile that needs credentials, so that
  // an outage of control never admits them unchecked (open mode admits unknown ones then).
  std::mutex provisioned_mu;
  std::unordered_map<std::string, int> provisioned_profiles;

  void RememberProfile(const std::string& station_id, bool provisioned, int profile) {
    std::lock_guard lock(provisioned_mu);
    if (!provisioned || profile == 0) {
      provisioned_profiles.erase(station_id);
      return;
    }
    if (provisioned_profiles.size() >= 1'000'000) provisioned_profiles.clear();  // a bound
    provisioned_profiles[station_id] = profile;
  }
  bool NeedsCredentials(const std::string& station_id) {
    std::lock_guard lock(provisioned_mu);
    return provisioned_profiles.count(station_id) > 0;
  }
  // Frames that could not be parsed get a CALLERROR with action "unparsed".
  metrics::Family<metrics::Counter>* frame_errors;
};

// One charger's WebSocket. Everything runs on the socket's io_context, which one thread runs
// (IoContextPool), so handlers never overlap and no strand is needed. Idle connections are the
// common case (tens of thousands per process), so the members are kept lean: the next layer is
// a plain socket (the WebSocket stream has its own timer), queues allocate only when used, and
// the HTTP parser lives only during the upgrade.
// Members only a TLS session has; an empty type for plain sessions (no bytes, see
// [[no_unique_address]]).
struct NoTlsState {};
struct TlsState {
  std::shared_ptr<ssl::context> context;  // the context the session's SSL object came from
  PeerCertificate peer;                   // until the upgrade
};

template <bool kTls>
class OcppSession : public ChargerConnection,
                    public std::enable_shared_from_this<OcppSession<kTls>> {
  using NextLayer = std::conditional_t<kTls, TlsSocket, tcp::socket>;
  using TlsMembers = std::conditional_t<kTls, TlsState, NoTlsState>;

 public:
  // Plain: (socket). TLS: (socket, context).
  OcppSession(std::shared_ptr<ServerShared> shared, tcp::socket socket) requires(!kTls)
      : OcppSession(std::move(shared), NoTlsState{}, std::move(socket)) {}
  OcppSession(std::shared_ptr<ServerShared> shared, tcp::socket socket,
              std::shared_ptr<ssl::context> context) requires(kTls)
      : OcppSession(std::move(shared), TlsState{context, {}}, std::move(socket),
                    context->native_handle()) {}

 private:
  template <class... StreamArgs>
  OcppSession(std::shared_ptr<ServerShared> shared, TlsMembers tls, StreamArgs&&... stream_args)
      : ws_(std::forward<StreamArgs>(stream_args)...),
        tls_(std::move(tls)),
        shared_(std::move(shared)),
        router_(shared_->router),
        backend_(shared_->backend),
        registry_(shared_->registry),
        options_(shared_->options),
        call_timer_(ws_.get_executor()) {}

 public:
  const std::string& charger_id() const override { return station_->charger_id; }
  const std::string& connection_id() const override { return station_->connection_id; }
  std::shared_ptr<StationContext> station() const override { return station_; }

  void Start() {
    net::dispatch(ws_.get_executor(), [self = this->shared_from_this()] {
      self->ArmHandshakeDeadline();
      if constexpr (kTls) {
        self->TlsHandshake();
      } else {
        self->ReadUpgrade();
      }
    });
  }

  void SendCall(std::string action, std::string payload_json, std::chrono::milliseconds timeout,
                std::function<void(CallOutcome)> done) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), action = std::move(action),
                                   payload = std::move(payload_json), timeout,
                                   done = std::move(done)]() mutable {
      if (self->closed_) {
        done(CallOutcome{CallOutcome::Kind::kClosed, "", "", "connection closed"});
        return;
      }
      if (self->queued_calls_.size() >= self->options_.max_queued_calls) {
        done(CallOutcome{CallOutcome::Kind::kOverloaded, "", "", "too many queued commands"});
        return;
      }
      self->queued_calls_.push_back(
          QueuedCall{std::move(action), std::move(payload), timeout, std::move(done)});
      self->SendNextCall();
    });
  }

  void Close(uint16_t code, std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), code,
                                   reason = std::move(reason)] { self->CloseNow(code, reason); });
  }

 private:
  struct QueuedCall {
    std::string action;
    std::string payload_json;
    std::chrono::milliseconds timeout;
    std::function<void(CallOutcome)> done;
  };
  struct PendingCall {
    std::string message_id;
    std::string action;
    std::function<void(CallOutcome)> done;
  };

  // ---- Handshake deadline -------------------------------------------------------------------

  // Until the WebSocket is open, the call timer guards the handshakes (TLS and HTTP): a client
  // that connects and sends nothing must not hold a socket forever.
  void ArmHandshakeDeadline() {
    call_timer_.expires_after(options_.handshake_timeout);
    call_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->established_) return;
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).close(ignored);
    });
  }

  // ---- TLS (security profiles 2 and 3) --------------------------------------------------------

  void TlsHandshake() {
    ws_.next_layer().async_handshake(
        [self = this->shared_from_this()](beast::error_code ec) { self->OnTlsHandshake(ec); });
  }

  void OnTlsHandshake(beast::error_code ec) {
    if constexpr (kTls) {
      if (!ec) {
        tls_.peer = InspectPeerCertificate(ws_.next_layer().native_handle());
        return ReadUpgrade();
      }
      if (!beast::get_lowest_layer(ws_).is_open()) return;  // the deadline closed it
      client_address_ = ClientAddress();
      long verify = SSL_get_verify_result(ws_.next_layer().native_handle());
      if (verify != X509_V_OK) {
        // A00.FR.407/408: no connection, and the reason in the security log.
        shared_->refused_bad_certificate->Inc();
        shared_->auth_failures.RecordFailure(client_address_, std::chrono::steady_clock::now());
        CSMS_LOG(kWarn, kLog) << "InvalidChargingStationCertificate from " << client_address_
                              << ": " << X509_verify_cert_error_string(verify);
      } else {
        shared_->refused_tls_handshake->Inc();
        // A peer that left without a word is a port probe, not news.
        if (ec == net::error::eof || ec == ssl::error::stream_truncated) {
          CSMS_LOG(kDebug, kLog) << "TLS handshake with " << client_address_
                                 << " ended by the peer: " << ec.message();
        } else {
          CSMS_LOG(kInfo, kLog) << "TLS handshake with " << client_address_
                                << " failed: " << ec.message();
        }
      }
      // With TLS 1.3 the client learns of a refused certificate only from the alert on its way.
      LingeringClose();
    }
  }

  // Ends a refused connection without losing what was sent last (an alert, a refusal): our FIN
  // first, then the client's bytes are read and dropped until it closes, because closing with
  // unread bytes resets the connection and the client may lose the answer. The handshake
  // deadline bounds the wait.
  void LingeringClose() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).shutdown(tcp::socket::shutdown_send, ignored);
    DrainUntilClosed();
  }

  void DrainUntilClosed() {
    auto scratch = std::make_shared<std::array<char, 512>>();
    beast::get_lowest_layer(ws_).async_read_some(
        net::buffer(*scratch),
        [self = this->shared_from_this(), scratch](beast::error_code ec, size_t) {
          if (!ec) return self->DrainUntilClosed();
          beast::error_code ignored;
          beast::get_lowest_layer(self->ws_).close(ignored);
        });
  }

  // ---- HTTP upgrade -------------------------------------------------------------------------

  void ReadUpgrade() {
    parser_ = std::make_unique<http::request_parser<http::string_body>>();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(1024);
    http::async_read(ws_.next_layer(), buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->OnUpgradeRequest(ec);
                     });
  }

  void OnUpgradeRequest(beast::error_code ec) {
    if (ec) return;  // nothing was established; the socket just goes away
    auto& req = parser_->get();
    if (!websocket::is_upgrade(req)) {
      shared_->refused_not_websocket->Inc();
      return RefuseUpgrade(http::status::upgrade_required,
                           "this port speaks OCPP-J over WebSocket only");
    }
    auto station_id =
        StationIdFromTarget(std::string_view(req.target().data(), req.target().size()));
    if (!station_id) {
      shared_->refused_bad_station_id->Inc();
      return RefuseUpgrade(http::status::not_found,
                           "the URL must end with the charging station identity (at most 48 "
                           "characters of a-z A-Z 0-9 * - _ = : + | @ .)");
    }
    auto offered = req[http::field::sec_websocket_protocol];
    auto protocol = SelectSubprotocol(std::string_view(offered.data(), offered.size()));
    if (!protocol) {
      shared_->refused_bad_subprotocol->Inc();
      CSMS_LOG_WITH(kWarn, kLog, (log::Fields{*station_id}))
          << "refused " << *station_id << ": subprotocols offered '"
          << log::Sanitize(std::string_view(offered.data(), offered.size()), 100) << "'";
      return RefuseUpgrade(http::status::bad_request,
                           "Sec-WebSocket-Protocol must offer ocpp2.0.1");
    }
    if (shared_->open_connections.load() >= options_.max_connections) {
      shared_->refused_connection_limit->Inc();
      CSMS_LOG_WITH(kWarn, kLog, (log::Fields{*station_id}))
          << "refused " << *station_id << ": connection limit of " << options_.max_connections
          << " reached";
      return RefuseUpgrade(http::status::service_unavailable,
                           "this gateway is at its connection limit; try another");
    }
    Authenticate(req, *station_id, *protocol);
  }

  // ---- Station authentication (security profiles), before the upgrade completes ------------

  std::string ClientAddress() {
    beast::error_code ec;
    auto endpoint = beast::get_lowest_layer(ws_).remote_endpoint(ec);
    return ec ? std::string("unknown") : endpoint.address().to_string();
  }

  // A refused handshake the client could have got right: logged (never with the password) and
  // counted against its address.
  void RefuseAuth(http::status status, const std::string& station_id, const std::string& why,
                  std::string body) {
    (status == http::status::not_found   ? shared_->refused_unknown_station
     : status == http::status::forbidden ? shared_->refused_forbidden
                                         : shared_->refused_unauthorized)
        ->Inc();
    shared_->auth_failures.RecordFailure(client_address_, std::chrono::steady_clock::now());
    CSMS_LOG_WITH(kWarn, kLog, (log::Fields{station_id}))
        << "refused " << log::Sanitize(station_id, 48) << " from " << client_address_ << ": "
        << why;
    RefuseUpgrade(status, std::move(body), status == http::status::unauthorized);
  }

  void Authenticate(const http::request<http::string_body>& req, const std::string& station_id,
                    const std::string& protocol) {
    client_address_ = ClientAddress();
    if (!shared_->auth_failures.Allowed(client_address_, std::chrono::steady_clock::now())) {
      shared_->refused_rate_limited->Inc();
      CSMS_LOG_WITH(kWarn, kLog, (log::Fields{station_id}))
          << "refused " << log::Sanitize(station_id, 48) << " from " << client_address_
          << ": too many failed handshakes from this address";
      return RefuseUpgrade(http::status::too_many_requests,
                           "too many failed authentication attempts; try again later");
    }
    control::v1::AuthenticateStationRequest request;
    request.set_charger_id(station_id);
    request.set_client_address(client_address_);  // for the security event a refusal records
    auto header = req[http::field::authorization];
    if (!header.empty()) {
      if (header.size() > kMaxAuthorizationBytes) {
        return RefuseAuth(http::status::bad_request, station_id, "Authorization header too long",
                          "Authorization header too long");
      }
      auto credentials = ParseBasicAuthorization(std::string_view(header.data(), header.size()));
      if (!credentials) {
        return RefuseAuth(http::status::unauthorized, station_id, "malformed Authorization header",
                          "Authorization must be Basic base64(<station id>:<password>)");
      }
      if (credentials->username != station_id) {
        return RefuseAuth(http::status::unauthorized, station_id,
                          "Basic auth username '" + log::Sanitize(credentials->username, 48) +
                              "' is not the station identity",
                          "the Basic auth username must be the station identity");
      }
      request.set_has_password(true);
      request.set_password(std::move(credentials->password));
    }
    if constexpr (kTls) {
      request.set_tls(true);
      const PeerCertificate& peer = tls_.peer;
      if (peer.present && peer.verified) {
        if (!shared_->tls_client_org.empty() && peer.organization != shared_->tls_client_org) {
          return RefuseAuth(http::status::forbidden, station_id,
                            "client certificate organization '" +
                                log::Sanitize(peer.organization, 64) + "' is not '" +
                                shared_->tls_client_org + "'",
                            "the client certificate is not issued to this operator");
        }
        request.set_client_certificate_cn(peer.common_name);
      }
    }
    backend_.AuthenticateStation(
        request,
        [self = this->shared_from_this(), station_id, protocol](
            const grpc::Status& status, const control::v1::AuthenticateStationResponse& response) {
          net::post(self->ws_.get_executor(), [self, station_id, protocol, status, response] {
            self->OnAuthenticated(station_id, protocol, status, response);
          });
        });
  }

  void OnAuthenticated(const std::string& station_id, const std::string& protocol,
                       const grpc::Status& status,
                       const control::v1::AuthenticateStationResponse& response) {
    if (!beast::get_lowest_layer(ws_).is_open()) return;  // the deadline closed it meanwhile
    if (!status.ok()) {
      // Refused when required, for a station known to need credentials, and whenever control
      // is there but slow or overloaded (a handshake flood must not open the door). Only when
      // control cannot be reached at all does open mode admit unchecked, so chargers keep
      // connecting during a control outage as before authentication existed.
      if (options_.station_auth_required || shared_->NeedsCredentials(station_id) ||
          status.error_code() != grpc::StatusCode::UNAVAILABLE) {
        shared_->refused_auth_unavailable->Inc();
        CSMS_LOG_WITH(kWarn, kLog, (log::Fields{station_id}))
            << "refused " << station_id << " from " << client_address_
            << ": cannot check credentials (" << log::Sanitize(status.error_message(), 200) << ")";
        return RefuseUpgrade(http::status::service_unavailable,
                             "cannot check credentials now; try again later");
      }
      CSMS_LOG_WITH(kWarn, kLog, (log::Fields{station_id}))
          << station_id << " from " << client_address_
          << " admitted unchecked: control unreachable in open station-auth mode ("
          << log::Sanitize(status.error_message(), 200) << ")";
      return Upgrade(station_id, protocol);
    }
    shared_->RememberProfile(station_id, response.provisioned(), response.security_profile());
    if (!response.provisioned()) {
      if (options_.station_auth_required) {
        return RefuseAuth(http::status::not_found, station_id, "not a provisioned charger",
                          "unknown charging station");
      }
      return Upgrade(station_id, protocol);
    }
    if (!response.allowed()) {
      // Profile 3, and profile 2 on the plain port, cannot be met with a password: 403 and the
      // reason (which profile is expected is no secret). Otherwise 401 asks for Basic auth.
      const int profile = response.security_profile();
      std::string reason = log::Sanitize(response.reason(), 200);
      if (profile >= 3 || (profile == 2 && !kTls)) {
        return RefuseAuth(http::status::forbidden, station_id, reason, reason);
      }
      return RefuseAuth(http::status::unauthorized, station_id, reason, "authentication required");
    }
    Upgrade(station_id, protocol);
  }

  void Upgrade(const std::string& station_id, const std::string& protocol) {
    auto& req = parser_->get();
    station_ = std::make_shared<StationContext>();
    station_->charger_id = station_id;
    station_->connection_id = NewConnectionId();
    if constexpr (kTls) {
      if (tls_.peer.present && tls_.peer.verified) {
        station_->certificate_cn = std::move(tls_.peer.common_name);
      }
      tls_.peer = PeerCertificate{};
    }

    websocket::stream_base::timeout timeouts{options_.handshake_timeout, options_.idle_timeout,
                                             /*keep_alive_pings=*/true};
    ws_.set_option(timeouts);
    ws_.read_message_max(options_.max_message_bytes);
    ws_.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
      res.set(http::field::sec_websocket_protocol, protocol);
      res.set(http::field::server, "csms-gateway");
    }));
    ws_.async_accept(
        req, [self = this->shared_from_this()](beast::error_code ec) { self->OnAccepted(ec); });
  }

  void RefuseUpgrade(http::status status, std::string reason, bool ask_for_basic = false) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "csms-gateway");
    if (ask_for_basic)
      res->set(http::field::www_authenticate, "Basic realm=\"csms\", charset=\"UTF-8\"");
    if (status == http::status::too_many_requests || status == http::status::service_unavailable) {
      res->set(http::field::retry_after, "10");
    }
    res->set(http::field::content_type, "text/plain");
    res->keep_alive(false);
    res->body() = std::move(reason) + "\n";
    res->prepare_payload();
    http::async_write(ws_.next_layer(), *res,
                      [self = this->shared_from_this(), res](beast::error_code, size_t) {
                        self->LingeringClose();
                      });
  }

  void OnAccepted(beast::error_code ec) {
    if (ec) {
      CSMS_LOG(kWarn, kLog) << "WebSocket handshake with " << station_->charger_id
                            << " failed: " << ec.message();
      return;
    }
    parser_.reset();
    established_ = true;
    call_timer_.cancel();
    buffer_.shrink_to_fit();
    // A message never needs more than the limit (Beast refuses a longer one with 1009 from the
    // frame headers), so a fragmented one does not double the buffer past it either. The slack
    // lets Beast read the next frame header once the buffer is full (without it, a frame one
    // byte over the limit fails as a buffer overflow instead of closing with 1009).
    if (options_.max_message_bytes > 0) {
      buffer_.max_size(std::max(options_.max_message_bytes, buffer_.size()) + kReadSlackBytes);
    }
    ReportReadBuffer();
    shared_->open_connections.fetch_add(1);
    shared_->accepted->Inc();
    if (auto previous = registry_.Register(this->shared_from_this())) {
      CSMS_LOG(kInfo, kLog) << station_->charger_id << " reconnected; closing its older connection "
                            << previous->connection_id();
      previous->Close(websocket::close_code::normal, "replaced by a newer connection");
    }
    CSMS_LOG_WITH(kInfo, kLog, (log::Fields{station_->charger_id}))
        << station_->charger_id << " connected (" << station_->connection_id << ")";
    control::v1::StationConnectedRequest request;
    request.set_charger_id(station_->charger_id);
    request.set_connection_id(station_->connection_id);
    request.set_gateway_address(shared_->advertise_address);
    request.set_public_base_url(shared_->options.public_base_url);
    *request.mutable_connected_at() = ToProto(RealClock().Now());
    backend_.StationConnected(
        request, [station = station_](const grpc::Status& status,
                                      const control::v1::StationConnectedResponse& response) {
          // Unknown stays unknown: the charger is not locked out. A failed first attempt is
          // answered again when its retry gets through.
          if (!status.ok()) return;
          station->set_station_id(response.station_id());
          station->set_cost_currency(response.cost_currency());
          station->set_evse_max_power_w(
              {response.evse_max_power_w().begin(), response.evse_max_power_w().end()});
          Registration expected = Registration::kUnknown;
          station->registration.compare_exchange_strong(
              expected, RegistrationFromString(response.registration_status()));
        });
    DoRead();
  }

  // ---- Reading --------------------------------------------------------------------------------

  void DoRead() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return OnClosed(ec);
    if (!ws_.got_text()) {
      buffer_.consume(buffer_.size());
      ReleaseLargeReadBuffer();
      QueueWrite(ocpp::SerializeCallError("-1", ocpp::error_code::kRpcFrameworkError,
                                          "binary frames are not supported; OCPP-J uses text"));
      return DoRead();
    }
    // The frame is parsed straight out of the read buffer; nothing keeps a view into it after.
    std::string_view text(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    CSMS_LOG(kDebug, kLog) << "<- " << station_->charger_id << " "
                           << log::Sanitize(ocpp::RedactFrame(text), 2000);
    if (shared_->trace)
      shared_->trace->Record(station_->charger_id, station_->connection_id, "in", text);
    HandleText(text);
    buffer_.consume(buffer_.size());
    ReleaseLargeReadBuffer();
    DoRead();
  }

  // The read buffer grows to the size of the largest frame read. Most frames are small, and an
  // idle connection must not keep a large frame's megabyte: past kKeptReadBufferBytes the buffer
  // is freed (the next frame allocates what it needs), below it the capacity is kept for reuse.
  static constexpr size_t kKeptReadBufferBytes = 4096;
  static constexpr size_t kReadSlackBytes = 4096;  // more than Beast's first read of a frame

  void ReleaseLargeReadBuffer() {
    if (buffer_.size() == 0 && buffer_.capacity() > kKeptReadBufferBytes) buffer_.shrink_to_fit();
    ReportReadBuffer();
  }

  // Keeps csms_gateway_read_buffer_bytes equal to the sum over established connections.
  void ReportReadBuffer() {
    const size_t now = closed_ ? 0 : buffer_.capacity();
    if (now == reported_buffer_bytes_) return;
    shared_->read_buffer_bytes->Add(static_cast<double>(now) -
                                    static_cast<double>(reported_buffer_bytes_));
    reported_buffer_bytes_ = now;
  }

  void HandleText(std::string_view text) {
    auto parsed = ocpp::ParseFrame(text);
    if (auto* error = std::get_if<ocpp::FrameError>(&parsed)) {
      if (error->should_reply) {
        shared_->frame_errors->Labels({"unparsed", error->code}).Inc();
        CSMS_LOG_WITH(kInfo, kLog, (log::Fields{station_->charger_id, error->message_id}))
            << "malformed frame answered with CALLERROR " << error->code << ": "
            << log::Sanitize(error->description, 200);
        QueueWrite(ocpp::SerializeCallError(error->message_id, error->code, error->description));
      } else {
        CSMS_LOG(kWarn, kLog) << "dropped malformed reply from " << station_->charger_id << ": "
                              << log::Sanitize(error->description, 200);
      }
      return;
    }
    auto& frame = std::get<ocpp::Frame>(parsed);
    if (frame.type == ocpp::MessageType::kCall) {
      router_.Handle(
          station_, std::move(frame), [self = this->shared_from_this()](std::string reply) {
            net::post(self->ws_.get_executor(), [self, reply = std::move(reply)]() mutable {
              self->QueueWrite(std::move(reply));
              if (self->station_->close_requested.load()) self->CloseAfterWrites();
            });
          });
      return;
    }
    OnReply(frame);
  }

  // ---- CSMS-initiated CALLs -----------------------------------------------------------------

  void SendNextCall() {
    if (pending_ || queued_calls_.empty() || closed_) return;
    QueuedCall call = std::move(queued_calls_.front());
    queued_calls_.erase(queued_calls_.begin());
    json payload = json::parse(call.payload_json, nullptr, false);
    if (payload.is_discarded() || !payload.is_object()) {
      call.done(CallOutcome{CallOutcome::Kind::kError, "{}", ocpp::error_code::kFormatViolation,
                            "command payload is not a JSON object"});
      return SendNextCall();
    }
    // The CSMS validates what it sends too: a charger may reject anything off-schema.
    if (auto violation = ocpp::SchemaSet::Ocpp201().Validate(
            call.action, ocpp::PayloadKind::kRequest, payload)) {
      call.done(
          CallOutcome{CallOutcome::Kind::kError, "{}", violation->code,
                      "command not sent, it violates the OCPP schema: " + violation->description});
      return SendNextCall();
    }
    pending_ = PendingCall{NewMessageId(), call.action, std::move(call.done)};
    QueueWrite(ocpp::SerializeCall(pending_->message_id, call.action, payload));
    call_timer_.expires_after(call.timeout);
    call_timer_.async_wait(
        [self = this->shared_from_this(), id = pending_->message_id](beast::error_code ec) {
          if (ec || !self->pending_ || self->pending_->message_id != id) return;
          CSMS_LOG(kWarn, kLog) << self->station_->charger_id << " did not answer CALL " << id;
          self->FinishPending(CallOutcome{CallOutcome::Kind::kTimeout, "", "", "no answer"});
        });
  }

  void OnReply(const ocpp::Frame& frame) {
    if (!pending_ || pending_->message_id != frame.message_id) {
      // Late or unknown reply: OCPP forbids answering a reply, so it is only logged.
      CSMS_LOG(kWarn, kLog) << "dropped reply " << log::Sanitize(frame.message_id, 40) << " from "
                            << station_->charger_id << ": no CALL is waiting for it";
      return;
    }
    CallOutcome outcome;
    if (frame.type == ocpp::MessageType::kCallResult) {
      outcome.kind = CallOutcome::Kind::kResult;
      if (auto violation = ocpp::SchemaSet::Ocpp201().Validate(
              pending_->action, ocpp::PayloadKind::kResponse, frame.payload)) {
        // A reply is never answered with an error; the CALL just counts as failed.
        CSMS_LOG(kWarn, kLog) << station_->charger_id << " answered " << pending_->action
                              << " off-schema: " << log::Sanitize(violation->description, 200);
        outcome.kind = CallOutcome::Kind::kInvalidReply;
        outcome.error_code = violation->code;
        outcome.error_description = violation->code + ": " + violation->description;
      }
    } else {
      outcome.kind = CallOutcome::Kind::kError;
      outcome.error_code = frame.error_code;
      outcome.error_description = frame.error_description;
    }
    outcome.payload_json = frame.payload.dump();
    FinishPending(std::move(outcome));
  }

  void FinishPending(CallOutcome outcome) {
    call_timer_.cancel();
    auto done = std::move(pending_->done);
    pending_.reset();
    done(std::move(outcome));
    SendNextCall();
  }

  // ---- Writing --------------------------------------------------------------------------------

  void QueueWrite(std::string frame) {
    if (closed_) return;
    if (write_queue_.size() + 1 >= options_.max_outbound_queue) {
      CSMS_LOG(kWarn, kLog) << station_->charger_id << " reads too slowly; closing";
      return CloseNow(websocket::close_code::policy_error, "outbound queue full");
    }
    CSMS_LOG(kDebug, kLog) << "-> " << station_->charger_id << " "
                           << log::Sanitize(ocpp::RedactFrame(frame), 2000);
    if (shared_->trace)
      shared_->trace->Record(station_->charger_id, station_->connection_id, "out", frame);
    if (writing_ || closing_) {
      write_queue_.push_back(std::move(frame));
      return;
    }
    DoWrite(std::move(frame));
  }

  // One frame at a time; `in_flight_` owns the bytes until the write completes.
  void DoWrite(std::string frame) {
    writing_ = true;
    in_flight_ = std::move(frame);
    ws_.text(true);
    ws_.async_write(net::buffer(in_flight_),
                    [self = this->shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) return;  // the read side sees the failure and cleans up
                      if (self->write_queue_.empty() || self->closing_) {
                        // Replies are small; keep the capacity unless a large frame went out.
                        if (self->in_flight_.capacity() > 4096)
                          std::string().swap(self->in_flight_);
                        if (self->close_after_writes_) {
                          self->CloseNow(websocket::close_code::policy_error, "security violation");
                        }
                        return;
                      }
                      std::string next = std::move(self->write_queue_.front());
                      self->write_queue_.erase(self->write_queue_.begin());
                      self->DoWrite(std::move(next));
                    });
  }

  // Closes with 1008 once every queued frame (the CALLERROR saying why) has gone out.
  void CloseAfterWrites() {
    if (writing_) {
      close_after_writes_ = true;
      return;
    }
    CloseNow(websocket::close_code::policy_error, "security violation");
  }

  void CloseNow(uint16_t code, const std::string& reason) {
    if (closing_ || closed_ || !established_) return;
    closing_ = true;
    ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                    [self = this->shared_from_this()](beast::error_code) {});
  }

  // ---- Teardown -------------------------------------------------------------------------------

  void OnClosed(beast::error_code ec) {
    if (closed_) return;
    closed_ = true;
    shared_->open_connections.fetch_sub(1);
    call_timer_.cancel();
    buffer_.clear();  // a partly read frame, up to the limit
    buffer_.shrink_to_fit();
    ReportReadBuffer();  // closed: counts as 0 from now on
    if (ec == websocket::error::message_too_big) {
      CSMS_LOG(kWarn, kLog) << station_->charger_id << " sent a frame over "
                            << options_.max_message_bytes << " bytes; closed with 1009";
    }
    CSMS_LOG_WITH(kInfo, kLog, (log::Fields{station_->charger_id}))
        << station_->charger_id << " disconnected (" << station_->connection_id
        << "): " << ec.message();
    if (pending_) {
      auto done = std::move(pending_->done);
      pending_.reset();
      done(CallOutcome{CallOutcome::Kind::kClosed, "", "", "connection closed"});
    }
    for (auto& call : queued_calls_) {
      call.done(CallOutcome{CallOutcome::Kind::kClosed, "", "", "connection closed"});
    }
    queued_calls_.clear();
    registry_.Unregister(station_->charger_id, station_->connection_id);
    control::v1::StationDisconnectedRequest request;
    request.set_charger_id(station_->charger_id);
    request.set_connection_id(station_->connection_id);
    *request.mutable_disconnected_at() = ToProto(RealClock().Now());
    backend_.StationDisconnected(request);
  }

  // deflateSupported=false: OCPP frames are small and compression state costs memory per socket.
  websocket::stream<NextLayer, false> ws_;
  [[no_unique_address]] TlsMembers tls_;
  beast::flat_buffer buffer_;
  size_t reported_buffer_bytes_ = 0;  // buffer_'s capacity as last added to the gauge
  std::unique_ptr<http::request_parser<http::string_body>> parser_;  // during the upgrade only
  std::shared_ptr<ServerShared> shared_;
  CallRouter& router_;
  Backend& backend_;
  ConnectionRegistry& registry_;
  const OcppServerOptions& options_;
  std::shared_ptr<StationContext> station_;
  std::string in_flight_;                 // the frame being written
  std::vector<std::string> write_queue_;  // frames waiting behind it (usually none)
  std::vector<QueuedCall> queued_calls_;
  std::optional<PendingCall> pending_;
  net::steady_timer call_timer_;  // the handshake deadline, then the CSMS CALL's deadline
  bool established_ = false;
  std::string client_address_;  // for the log and the failure limiter
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool close_after_writes_ = false;
};

}  // namespace

class OcppServer::Impl : public std::enable_shared_from_this<OcppServer::Impl> {
 public:
  Impl(IoContextPool& pool, CallRouter& router, Backend& backend, ConnectionRegistry& registry,
       std::string advertise_address, OcppServerOptions options, FrameTrace* trace)
      : pool_(pool), acceptor_(pool.Get(0)), registry_(registry) {
    shared_ = std::make_shared<ServerShared>(router, backend, registry,
                                             std::move(advertise_address), options, trace);
  }

  bool Listen(const std::string& host_port, std::string* error) {
    if (!BindAcceptor(acceptor_, host_port, error)) return false;
    DoAccept<false>(acceptor_);
    return true;
  }

  bool ListenTls(const std::string& host_port, std::shared_ptr<TlsContextSource> tls,
                 std::string* error) {
    tls_ = std::move(tls);
    shared_->tls_client_org = tls_->options().client_org;
    tls_acceptor_.emplace(acceptor_.get_executor());
    if (!BindAcceptor(*tls_acceptor_, host_port, error)) return false;
    DoAccept<true>(*tls_acceptor_);
    ScheduleTlsReload();
    return true;
  }

  void Shutdown(std::chrono::milliseconds drain) {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      if (self->tls_acceptor_) self->tls_acceptor_->close(ignored);
      self->reload_timer_.cancel();
    });
    // Close chargers spread over `drain` (at least kMinDrainRate a second), so they reconnect
    // to the other gateways gradually instead of all in the same instant.
    constexpr double kMinDrainRate = 200.0;
    auto connections = registry_.All();
    const double rate = std::max(
        kMinDrainRate, drain.count() > 0 ? connections.size() * 1000.0 / drain.count() : 1e12);
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < connections.size(); ++i) {
      auto due = start + std::chrono::microseconds(static_cast<int64_t>(i * 1e6 / rate));
      std::this_thread::sleep_until(due);
      connections[i]->Close(websocket::close_code::going_away, "server shutting down");
    }
  }

 private:
  template <bool kTls>
  void DoAccept(tcp::acceptor& acceptor) {
    acceptor.async_accept(pool_.Next(), [self = shared_from_this(), &acceptor](beast::error_code ec,
                                                                               tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if constexpr (kTls) {
          std::make_shared<OcppSession<true>>(self->shared_, std::move(socket),
                                              self->tls_->Current())
              ->Start();
        } else {
          std::make_shared<OcppSession<false>>(self->shared_, std::move(socket))->Start();
        }
      } else {
        CSMS_LOG(kWarn, kLog) << "accept failed: " << ec.message();
      }
      if (acceptor.is_open()) self->DoAccept<kTls>(acceptor);
    });
  }

  // Certificates are re-read when their files change (short-lived certificates, rotation).
  void ScheduleTlsReload() {
    reload_timer_.expires_after(tls_->options().reload_interval);
    reload_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->tls_->ReloadIfChanged();
      self->ScheduleTlsReload();
    });
  }

  IoContextPool& pool_;
  tcp::acceptor acceptor_;
  std::optional<tcp::acceptor> tls_acceptor_;
  std::shared_ptr<TlsContextSource> tls_;
  net::steady_timer reload_timer_{acceptor_.get_executor()};
  ConnectionRegistry& registry_;
  std::shared_ptr<ServerShared> shared_;
};

OcppServer::OcppServer(IoContextPool& pool, CallRouter& router, Backend& backend,
                       ConnectionRegistry& registry, std::string advertise_address,
                       OcppServerOptions options, FrameTrace* trace)
    : impl_(std::make_shared<Impl>(pool, router, backend, registry, std::move(advertise_address),
                                   options, trace)) {}

OcppServer::~OcppServer() = default;

bool OcppServer::Listen(const std::string& host_port, std::string* error) {
  return impl_->Listen(host_port, error);
}

bool OcppServer::ListenTls(const std::string& host_port, std::shared_ptr<TlsContextSource> tls,
                           std::string* error) {
  return impl_->ListenTls(host_port, std::move(tls), error);
}

void OcppServer::Shutdown(std::chrono::milliseconds drain) { impl_->Shutdown(drain); }

}  // namespace csms::gateway
