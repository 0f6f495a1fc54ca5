#include "csms/gateway/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdio>
#include <deque>
#include <optional>

#include "csms/common/api_auth.h"
#include "csms/common/log.h"
#include "csms/gateway/listener.h"
#include "csms/gateway/multipart.h"
#include "csms/gateway/rest_commands.h"
#include "csms/gateway/rest_tokens.h"

namespace csms::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr size_t kMaxHeaderBytes = 8 * 1024;
constexpr auto kReadTimeout = std::chrono::seconds(30);
// An upload may take long on a slow link, but it must keep moving: this much silence ends it.
constexpr auto kUploadIdleTimeout = std::chrono::seconds(60);
// A multipart body carries headers and boundaries around the file.
constexpr size_t kMultipartOverheadBytes = 64 * 1024;
constexpr std::string_view kUploadPrefix = "/log-uploads/";
// POST /tokens:import is streamed: read a piece, store its lines, read the next.
constexpr std::string_view kTokenImportPath = "/tokens:import";
constexpr size_t kMaxImportBytes = size_t{1024} * 1024 * 1024;
// An event-stream client that falls this far behind is closed rather than buffered for.
constexpr size_t kMaxQueuedEventBytes = 4 * 1024 * 1024;
// Operators and dashboards are few: these caps keep a flood of idle or half-sent requests from
// taking the file descriptors the chargers' port needs.
constexpr int kMaxHttpConnections = 1024;
constexpr int kMaxEventStreams = 256;

// Open REST connections and event streams of one server.
struct HttpCounts {
  std::atomic<int> connections{0};
  std::atomic<int> event_streams{0};
};

using Headers = std::vector<std::pair<http::field, std::string>>;

// The dashboard loads only its own bundle and styles; map tiles may come from any server the
// operator configures. frame-ancestors works only as a header, not in the page's <meta>.
constexpr const char* kDashboardPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; object-src 'none'; frame-ancestors 'none'";

// Routes anyone may reach: probes and metrics (scraped by infrastructure that holds no API
// key, and they reveal no charger data), the API's OpenAPI document (the same for everyone),
// and the dashboard's page and static files (the page asks for a token before it reads any
// data).
bool IsOpenRoute(http::verb method, const std::string& path) {
  if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/openapi.json") {
    return true;
  }
  if (method != http::verb::get && method != http::verb::head) return false;
  return path == "/" || path == "/index.html" || path == "/dashboard/config.json" ||
         path.rfind("/assets/", 0) == 0;
}

// The `access_token` query parameter: EventSource cannot set an Authorization header.
std::optional<std::string> QueryToken(const std::string& target) {
  auto q = target.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string_view query = std::string_view(target).substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.rfind("access_token=", 0) == 0) return std::string(pair.substr(13));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// The token and the optional file name of /log-uploads/{token}[/{filename}]; false for another
// path.
bool ParseUploadPath(const std::string& path, std::string* token, std::string* filename) {
  if (path.rfind(kUploadPrefix, 0) != 0) return false;
  std::string rest = path.substr(kUploadPrefix.size());
  auto slash = rest.find('/');
  *token = rest.substr(0, slash);
  *filename = slash == std::string::npos ? "" : rest.substr(slash + 1);
  return true;
}

// Upload tokens are 64 hex digits (log_upload_store.cc NewUploadToken).
bool LooksLikeUploadToken(const std::string& token) {
  if (token.size() != 64) return false;
  for (char c : token) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, RestApi& api, LiveFeed* live_feed, auth::Authenticator* auth,
              LogUploadReceiver* uploads, std::shared_ptr<HttpCounts> counts)
      : stream_(std::move(socket)),
        api_(api),
        auth_(auth),
        uploads_(uploads),
        live_feed_(live_feed),
        counts_(std::move(counts)) {
    counts_->connections.fetch_add(1);
  }
  ~HttpSession() {
    if (upload_slot_) uploads_->End();
    if (subscription_ && live_feed_) live_feed_->Unsubscribe(subscription_);
    if (streaming_) counts_->event_streams.fetch_sub(1);
    counts_->connections.fetch_sub(1);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    // Beast checks a Content-Length against this limit while it parses the header, before we
    // know the route: it admits an upload's size here, and OnHeader narrows it for the others.
    parser_->body_limit(
        std::max(uploads_ ? uploads_->options().max_bytes + kMultipartOverheadBytes : kMaxBodyBytes,
                 kMaxImportBytes));
    stream_.expires_after(kReadTimeout);
    // The header first: an upload is answered (413, 404, 503) before its body is read.
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    // The two streamed routes; every other one reads its (small) body whole.
    const beast::string_view target = parser_->get().target();
    const std::string path(target.substr(0, target.find('?')));
    std::string token, filename;
    if (uploads_ && ParseUploadPath(path, &token, &filename)) {
      return StartUpload(std::move(token), std::move(filename));
    }
    if (path == kTokenImportPath && parser_->get().method() == http::verb::post) {
      return StartImport();
    }
    if (auto length = parser_->content_length(); length && *length > kMaxBodyBytes) {
      return OnRead(http::error::body_limit);
    }
    parser_->body_limit(kMaxBodyBytes);  // a chunked body's limit, counted as it arrives
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  // ---- Log uploads: PUT or POST /log-uploads/{token}[/{filename}]. The token is the
  // credential (no bearer key: a charger has none).
  void StartUpload(std::string token, std::string filename) {
    const auto& req = parser_->get();
    keep_alive_ = false;  // one upload per connection: its errors may leave the body unread
    if (req.method() != http::verb::put && req.method() != http::verb::post) {
      return Write(RestApi::Error(405, "method_not_allowed",
                                  "upload the log with PUT, or POST as multipart/form-data"),
                   false, {{http::field::allow, "PUT, POST"}});
    }
    if (!LooksLikeUploadToken(token)) {
      return Write(RestApi::Error(404, "not_found",
                                  "no log upload waits at this URL (unknown or expired token)"),
                   false);
    }
    const size_t max_bytes = uploads_->options().max_bytes;
    const bool multipart = req.method() == http::verb::post;
    const size_t body_limit = max_bytes + (multipart ? kMultipartOverheadBytes : 0);
    if (auto length = parser_->content_length(); length && *length > body_limit) {
      return TooLarge();
    }
    if (!uploads_->TryBegin()) {
      return Write(RestApi::Error(503, "busy", "too many log uploads at once; try again later"),
                   false, {{http::field::retry_after, "10"}});
    }
    upload_slot_ = true;
    upload_ = std::make_shared<LogUploadReceiver::Upload>();
    upload_->token = std::move(token);
    upload_->filename = std::move(filename);
    upload_->client_address = ClientAddress();
    if (auto it = req.find(http::field::content_type); it != req.end()) {
      upload_->content_type = std::string(it->value());
    }
    parser_->body_limit(body_limit);
    stream_.expires_never();
    uploads_->Open(
        upload_->token, [self = shared_from_this()](std::optional<HttpResponse> refused) {
          net::post(self->stream_.get_executor(), [self, refused = std::move(refused)]() mutable {
            if (refused) return self->Write(std::move(*refused), false);
            self->ContinueThen(&HttpSession::ReadUploadSome);
          });
        });
  }

  void TooLarge() {
    Write(RestApi::Error(413, "too_large",
                         "the log is over " + std::to_string(uploads_->options().max_bytes) +
                             " bytes (--log-upload-max-bytes)"),
          false);
  }

  // Sends "100 Continue" when the client waits for it before its body (curl does for large
  // files), then `next`.
  void ContinueThen(void (HttpSession::*next)()) {
    const auto& req = parser_->get();
    if (auto it = req.find(http::field::expect);
        it != req.end() && beast::iequals(it->value(), "100-continue")) {
      auto interim = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      stream_.expires_after(kReadTimeout);
      return net::async_write(
          stream_, net::buffer(*interim),
          [self = shared_from_this(), interim, next](beast::error_code ec, size_t) {
            if (ec) return self->Close();
            ((*self).*next)();
          });
    }
    (this->*next)();
  }

  // A piece at a time, so the deadline is for silence, not for the whole file.
  void ReadUploadSome() {
    if (parser_->is_done()) return FinishUpload();
    stream_.expires_after(kUploadIdleTimeout);
    http::async_read_some(
        stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec == http::error::body_limit) return self->TooLarge();
          if (ec) {
            CSMS_LOG(kInfo, "gateway") << "log upload from " << self->upload_->client_address
                                       << " broken off: " << ec.message();
            return self->Close();
          }
          self->ReadUploadSome();
        });
  }

  void FinishUpload() {
    stream_.expires_never();
    auto req = parser_->release();
    if (req.method() == http::verb::post) {
      auto boundary = MultipartBoundary(upload_->content_type);
      if (!boundary) {
        return Write(RestApi::Error(415, "unsupported_media_type",
                                    "POST the log as multipart/form-data (or PUT it as is)"),
                     false);
      }
      std::string error;
      auto file = ExtractMultipartFile(req.body(), *boundary, &error);
      if (!file) return Write(RestApi::Error(400, "bad_request", error), false);
      if (upload_->filename.empty()) upload_->filename = std::move(file->filename);
      upload_->content_type = std::move(file->content_type);
      upload_->data = std::move(file->data);
    } else {
      upload_->data = std::move(req.body());
    }
    if (upload_->data.size() > uploads_->options().max_bytes) return TooLarge();
    uploads_->Store(std::move(upload_), [self = shared_from_this()](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response), false);
      });
    });
  }

  // ---- POST /tokens:import: the body is read a piece at a time; its complete lines go to control
  // in batches (TokenImport), and the next piece is read only once a batch is stored, so a
  // million tokens never sit in memory.
  void StartImport() {
    const auto& req = parser_->get();
    keep_alive_ = false;  // its errors may leave the body unread
    import_request_ =
        HttpRequest{std::string(req.method_string()), std::string(req.target()), "", {}, {}};
    const std::string path = import_request_.target.substr(0, import_request_.target.find('?'));
    if (!Authorize(req, import_request_, path)) return;
    const std::string query = import_request_.target.size() > path.size()
                                  ? import_request_.target.substr(path.size() + 1)
                                  : std::string();
    std::string content_type;
    if (auto it = req.find(http::field::content_type); it != req.end()) {
      content_type = std::string(it->value());
    }
    auto format = TokenImportFormat(content_type, query);
    if (auto* error = std::get_if<RestError>(&format)) {
      return Write(RestApi::Error(error->status, error->code, error->message), false);
    }
    if (auto length = parser_->content_length(); length && *length > kMaxImportBytes) {
      return ImportTooLarge();
    }
    parser_->body_limit(kMaxImportBytes);
    import_ = std::make_unique<TokenImport>(std::get<std::string>(format));
    ContinueThen(&HttpSession::PumpImport);
  }

  void ImportTooLarge() {
    Write(RestApi::Error(413, "too_large",
                         "an import is at most " + std::to_string(kMaxImportBytes) +
                             " bytes; split it (tokens stored so far: " +
                             std::to_string(import_ ? import_->stored() : 0) + ")"),
          false);
  }

  // Cuts what arrived into lines; stores a full batch before reading on.
  void PumpImport() {
    auto& body = parser_->get().body();
    const bool end = parser_->is_done();
    if (import_->Cut(body, end)) return StoreImportBatch();
    if (end) return FinishImport();
    stream_.expires_after(kUploadIdleTimeout);
    http::async_read_some(
        stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec == http::error::body_limit) return self->ImportTooLarge();
          if (ec) {
            CSMS_LOG(kInfo, "gateway")
                << "token import from " << self->ClientAddress() << " broken off after "
                << self->import_->stored() << " tokens stored: " << ec.message();
            return self->Close();
          }
          self->PumpImport();
        });
  }

  void StoreImportBatch() {
    stream_.expires_never();  // control's time, not the client's
    api_.tokens().ImportBatch(
        import_request_, import_->TakeBatch(),
        [self = shared_from_this()](const grpc::Status& status,
                                    const control::v1::ImportTokensResponse& response) {
          net::post(self->stream_.get_executor(), [self, status, response]() {
            if (!status.ok()) {
              HttpResponse error = RestCommands::FromCommandStatus(status);
              CSMS_LOG(kWarn, "gateway")
                  << "token import stopped after " << self->import_->stored()
                  << " tokens stored: " << log::Sanitize(status.error_message(), 200);
              return self->Write(std::move(error), false);
            }
            self->import_->Stored(response);
            self->PumpImport();
          });
        });
  }

  void FinishImport() {
    stream_.expires_never();
    if (import_->header_missing()) {
      return Write(
          RestApi::Error(400, "bad_request",
                         "the CSV is empty: a header line is required (id_token,type,...)"),
          false);
    }
    auto result = import_->Result();
    CSMS_LOG(kInfo, "gateway") << "token import by " << log::Sanitize(import_request_.key_id, 80)
                               << ": " << result["stored"].get<int64_t>() << " stored, "
                               << result["failed"].get<int64_t>() << " failed";
    Write(HttpResponse{200, result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                       "application/json"},
          false);
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec == http::error::header_limit) {
      return Write(
          RestApi::Error(431, "headers_too_large",
                         "request headers over " + std::to_string(kMaxHeaderBytes) + " bytes"),
          false);
    }
    if (ec == http::error::body_limit) {
      return Write(RestApi::Error(413, "too_large",
                                  "request body over " + std::to_string(kMaxBodyBytes) + " bytes"),
                   false);
    }
    if (ec) {
      if (ec != net::error::connection_reset && ec != net::error::eof) {
        return Write(RestApi::Error(400, "bad_request", "malformed HTTP request"), false);
      }
      return Close();
    }
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    HttpRequest request{
        std::string(req.method_string()), std::string(req.target()), std::move(req.body()), {}, {}};
    stream_.expires_never();
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (!Authorize(req, request, path)) return;
    if (live_feed_ && req.method() == http::verb::get && path == "/events") {
      if (counts_->event_streams.fetch_add(1) >= kMaxEventStreams) {
        counts_->event_streams.fetch_sub(1);
        return Write(RestApi::Error(503, "busy", "too many open event streams; try again later"),
                     false, {{http::field::retry_after, "5"}});
      }
      streaming_ = true;
      return StartEventStream();
    }
    api_.Handle(request, [self = shared_from_this()](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response), self->keep_alive_);
      });
    });
  }

  // The bearer-token check of every route but the open ones (GET and HEAD: read role, else
  // operate). True when the request may go on, with `request`'s key_id and role set; otherwise
  // the refusal is written.
  bool Authorize(const http::request<http::string_body>& req, HttpRequest& request,
                 const std::string& path) {
    if (!auth_ || !auth_->enabled() || IsOpenRoute(req.method(), path)) return true;
    std::optional<std::string> token;
    if (auto it = req.find(http::field::authorization); it != req.end()) {
      token = auth::BearerToken(std::string_view(it->value().data(), it->value().size()));
      if (!token) token = std::string();  // some other scheme: a failed attempt
    } else if (path == "/events") {
      token = QueryToken(request.target);
    }
    const bool reading = req.method() == http::verb::get || req.method() == http::verb::head;
    auto decision = auth_->Check(token, reading ? auth::Role::kRead : auth::Role::kOperate,
                                 ClientAddress(), request.method + " " + path);
    switch (decision.outcome) {
      case auth::Outcome::kAllowed:
        if (decision.principal) {
          request.key_id = decision.principal->key_id;
          request.role = auth::RoleName(decision.principal->role);
        }
        return true;
      case auth::Outcome::kUnauthenticated:
        Write(
            RestApi::Error(401, "unauthorized",
                           "a valid 'Authorization: Bearer <token>' is required"),
            keep_alive_,
            {{http::field::www_authenticate,
              token ? R"(Bearer realm="csms", error="invalid_token")" : R"(Bearer realm="csms")"}});
        return false;
      case auth::Outcome::kForbidden:
        Write(RestApi::Error(403, "forbidden",
                             "this API key's role may not " + request.method + " " + path),
              keep_alive_);
        return false;
      case auth::Outcome::kRateLimited:
        Write(RestApi::Error(429, "too_many_requests",
                             "too many failed authentications from this address"),
              false, {{http::field::retry_after, std::to_string(decision.retry_after_s)}});
        return false;
    }
    return true;
  }

  std::string ClientAddress() const {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    return ec ? std::string("unknown") : endpoint.address().to_string();
  }

  void Write(HttpResponse response, bool keep_alive, const Headers& headers = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "csms-gateway");
    for (const auto& [name, value] : headers) res->set(name, value);
    for (const auto& [name, value] : response.headers) res->set(name, value);
    res->set(http::field::content_type, response.content_type);
    // Browsers must take the type as given, never frame or refer from the page, and never
    // cache API answers (they carry charger data and follow a bearer token).
    res->set("X-Content-Type-Options", "nosniff");
    res->set("X-Frame-Options", "DENY");
    res->set("Referrer-Policy", "no-referrer");
    if (response.content_type.rfind("text/html", 0) == 0) {
      res->set("Content-Security-Policy", kDashboardPolicy);
    }
    if (!response.cache_control.empty()) {
      res->set(http::field::cache_control, response.cache_control);
    } else if (response.content_type.rfind("application/json", 0) == 0) {
      res->set(http::field::cache_control, "no-store");
    }
    res->keep_alive(keep_alive);
    res->body() = std::move(response.body);
    res->prepare_payload();
    // A client that does not read its answer does not hold the connection forever.
    stream_.expires_after(kReadTimeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->Close();
                        self->DoRead();
                      });
  }

  // Lingering close: after our FIN, read and drop what the client still sends (the rest of an
  // oversized request) until it closes or 5 s pass. Closing with unread bytes would reset the
  // connection, and the client could lose the error answer it has not read yet.
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(5));
    Linger();
  }

  void Linger() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec) return self->Linger();
                              beast::error_code ignored;
                              self->stream_.socket().close(ignored);
                            });
  }

  // Server-Sent Events: the header, then each event as one chunk, until the client leaves.
  void StartEventStream() {
    QueueRaw(
        "HTTP/1.1 200 OK\r\nServer: csms-gateway\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Accel-Buffering: no\r\n"
        "Transfer-Encoding: chunked\r\n\r\n");
    // Event writes have no deadline of their own (the queue cap bounds a slow reader).
    stream_.expires_never();
    QueueEvent("retry: 2000\n\n");
    // The feed calls from its own thread; the event is written on this session's strand.
    std::weak_ptr<HttpSession> weak = shared_from_this();
    subscription_ = live_feed_->Subscribe([weak](std::string event) {
      auto self = weak.lock();
      if (!self || self->stream_closed_) return false;
      net::post(self->stream_.get_executor(),
                [self, event = std::move(event)]() mutable { self->QueueEvent(event); });
      return true;
    });
    // An event-stream client sends nothing more: any read completing means it left.
    stream_.async_read_some(
        net::buffer(drain_),
        [self = shared_from_this()](beast::error_code, size_t) { self->CloseEventStream(); });
  }

  void QueueEvent(const std::string& event) {
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", event.size());
    QueueRaw(size + event + "\r\n");
  }

  void QueueRaw(std::string bytes) {
    if (stream_closed_) return;
    queued_bytes_ += bytes.size();
    if (queued_bytes_ > kMaxQueuedEventBytes) return CloseEventStream();
    outbox_.push_back(std::move(bytes));
    if (outbox_.size() == 1) WriteNext();
  }

  void WriteNext() {
    net::async_write(stream_, net::buffer(outbox_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->CloseEventStream();
                       self->queued_bytes_ -= self->outbox_.front().size();
                       self->outbox_.pop_front();
                       if (!self->outbox_.empty()) self->WriteNext();
                     });
  }

  void CloseEventStream() {
    if (stream_closed_) return;
    stream_closed_ = true;
    if (subscription_) live_feed_->Unsubscribe(subscription_);
    subscription_ = 0;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  RestApi& api_;
  bool keep_alive_ = false;
  auth::Authenticator* auth_;
  // Log uploads only.
  LogUploadReceiver* uploads_;
  bool upload_slot_ = false;  // holds one of uploads_'s slots until the session ends
  std::shared_ptr<LogUploadReceiver::Upload> upload_;
  // Token import only.
  std::unique_ptr<TokenImport> import_;
  HttpRequest import_request_;
  // Event stream only.
  LiveFeed* live_feed_;
  std::shared_ptr<HttpCounts> counts_;
  bool streaming_ = false;  // counted in counts_->event_streams
  uint64_t subscription_ = 0;
  std::atomic<bool> stream_closed_{false};
  std::deque<std::string> outbox_;
  size_t queued_bytes_ = 0;
  char drain_[512];  // bytes read only to be dropped (event streams, lingering close)
};

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(net::io_context& io, RestApi& api, LiveFeed* live_feed, auth::Authenticator* auth,
       LogUploadReceiver* uploads)
      : io_(io),
        acceptor_(net::make_strand(io)),
        api_(api),
        live_feed_(live_feed),
        auth_(auth),
        uploads_(uploads) {}

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
      if (!ec && self->counts_->connections.load() >= kMaxHttpConnections) {
        CSMS_LOG(kWarn, "gateway")
            << "REST connection refused: " << kMaxHttpConnections << " already open";
        beast::error_code ignored;
        socket.close(ignored);
      } else if (!ec) {
        std::make_shared<HttpSession>(std::move(socket), self->api_, self->live_feed_, self->auth_,
                                      self->uploads_, self->counts_)
            ->Start();
      }
      if (self->acceptor_.is_open()) self->DoAccept();
    });
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  RestApi& api_;
  LiveFeed* live_feed_;
  auth::Authenticator* auth_;
  LogUploadReceiver* uploads_;
  std::shared_ptr<HttpCounts> counts_ = std::make_shared<HttpCounts>();
};

HttpServer::HttpServer(net::io_context& io, RestApi& api, LiveFeed* live_feed,
                       auth::Authenticator* auth, LogUploadReceiver* uploads)
    : impl_(std::make_shared<Impl>(io, api, live_feed, auth, uploads)) {}
HttpServer::~HttpServer() = default;
bool HttpServer::Listen(const std::string& host_port, std::string* error) {
  return impl_->Listen(host_port, error);
}
void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace csms::gateway
