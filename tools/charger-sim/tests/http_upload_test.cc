// The simulator's GetLog HTTP client (src/http_upload.cc) against a one-request HTTP server on a
// thread of its own: the bytes that arrive, and the answers it reports.
#include "http_upload.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "csms/charger_sim/log_upload.h"

namespace csms::sim {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Serves one request on 127.0.0.1 and answers it with `status`. early: answer after the header
// and stop reading the body (a 413 before the upload is over), then drain until the client is
// done. silent: read the request and never answer.
class OneShotServer {
 public:
  enum class Mode { kNormal, kEarly, kSilent };

  OneShotServer(int status, Mode mode = Mode::kNormal) : acceptor_(io_) {
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, status, mode] { Serve(status, mode); });
  }
  ~OneShotServer() { Join(); }

  // Waits for the server thread; one that still waits for a client gets an empty connection.
  void Join() {
    if (!thread_.joinable()) return;
    if (!accepted_) {
      net::io_context io;
      tcp::socket poke(io);
      beast::error_code ignored;
      poke.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ignored);
      poke.close(ignored);
    }
    thread_.join();
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

  // What arrived (waits for the server to finish).
  const http::request<http::string_body>& Request() {
    Join();
    return request_;
  }
  bool HeaderOnly() {
    Join();
    return header_only_;
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  void Serve(int status, Mode mode) {
    beast::error_code ec;
    tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    accepted_ = true;
    if (ec) return;
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (mode == Mode::kEarly) {
      http::read_header(socket, buffer, parser, ec);
      header_only_ = true;
    } else {
      http::read(socket, buffer, parser, ec);
    }
    if (ec) return;
    request_ = parser.get();
    if (mode == Mode::kSilent) {
      char sink[4096];
      while (!ec) socket.read_some(net::buffer(sink), ec);
      return;
    }
    http::response<http::string_body> response{static_cast<http::status>(status), 11};
    response.set(http::field::connection, "close");
    response.body() = status == 201 ? "" : "{\"error\":\"nope\"}";
    response.prepare_payload();
    http::write(socket, response, ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    char sink[65536];
    while (!ec) socket.read_some(net::buffer(sink), ec);
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> accepted_{false};
  http::request<http::string_body> request_;
  bool header_only_ = false;
  std::thread thread_;
};

HttpUploadResult Upload(HttpUploadRequest request,
                        std::shared_ptr<net::ssl::context> tls = nullptr) {
  net::io_context io;
  std::optional<HttpUploadResult> result;
  int calls = 0;
  StartHttpUpload(io, std::move(tls), std::move(request), [&](HttpUploadResult r) {
    ++calls;
    result = std::move(r);
  });
  io.run_for(20s);
  EXPECT_EQ(calls, 1);
  return result.value_or(HttpUploadResult{-1, "no result", ""});
}

HttpUploadRequest Put(const std::string& url, std::string body) {
  std::string error;
  auto parsed = ParseHttpUrl(url, &error);
  EXPECT_TRUE(parsed) << error;
  HttpUploadRequest request;
  request.url = parsed.value_or(HttpUrl{});
  request.method = "PUT";
  request.content_type = "application/octet-stream";
  request.body = std::move(body);
  request.timeout = 10s;
  return request;
}

TEST(HttpUploadTest, PutsTheBytesAsTheyAre) {
  OneShotServer server(201);
  std::string content = GeneratedLog("cs1", "DiagnosticsLog", 70000);
  content[100] = '\0';  // any byte goes
  HttpUploadResult result = Upload(Put(server.Url("/log-uploads/tok?x=1"), content));
  EXPECT_EQ(result.status, 201) << result.error;
  EXPECT_TRUE(result.error.empty());
  EXPECT_EQ(server.Request().method(), http::verb::put);
  EXPECT_EQ(server.Request().target(), "/log-uploads/tok?x=1");
  EXPECT_EQ(server.Request()[http::field::host], server.Url("").substr(7));
  EXPECT_EQ(server.Request()[http::field::content_type], "application/octet-stream");
  EXPECT_EQ(server.Request()[http::field::content_length], "70000");
  EXPECT_EQ(server.Request().body(), content);
}

TEST(HttpUploadTest, PostsOneMultipartFilePart) {
  OneShotServer server(201);
  const std::string content = GeneratedLog("cs1", "SecurityLog", 1000);
  HttpUploadRequest request = Put(server.Url("/log-uploads/tok"), "");
  const std::string boundary = MultipartBoundary(content, 7);
  request.method = "POST";
  request.content_type = MultipartContentType(boundary);
  request.body = MultipartFileBody(boundary, "cs1-3.log", content);
  const std::string sent = request.body;
  HttpUploadResult result = Upload(request);
  EXPECT_EQ(result.status, 201) << result.error;
  EXPECT_EQ(server.Request().method(), http::verb::post);
  EXPECT_EQ(server.Request()[http::field::content_type],
            "multipart/form-data; boundary=" + boundary);
  EXPECT_EQ(server.Request().body(), sent);
  EXPECT_NE(sent.find("filename=\"cs1-3.log\"\r\n"), std::string::npos);
}

TEST(HttpUploadTest, HearsAnEarlyAnswerToATooLargeUpload) {
  OneShotServer server(413, OneShotServer::Mode::kEarly);
  HttpUploadResult result =
      Upload(Put(server.Url("/log-uploads/tok"), std::string(8 * 1024 * 1024, 'x')));
  EXPECT_EQ(result.status, 413) << result.error;
  EXPECT_EQ(result.body, "{\"error\":\"nope\"}");
  EXPECT_TRUE(server.HeaderOnly());
}

TEST(HttpUploadTest, ReportsOtherAnswers) {
  for (int status : {404, 503, 200}) {
    OneShotServer server(status);
    EXPECT_EQ(Upload(Put(server.Url("/x"), "log")).status, status);
  }
}

TEST(HttpUploadTest, ReportsNoAnswerWhenNobodyListens) {
  std::string url;
  {
    OneShotServer server(201);  // a free port, closed again at once
    url = server.Url("/x");
  }
  HttpUploadResult result = Upload(Put(url, "log"));
  EXPECT_EQ(result.status, 0);
  EXPECT_NE(result.error.find("connect"), std::string::npos) << result.error;
}

TEST(HttpUploadTest, TimesOutWhenTheServerNeverAnswers) {
  OneShotServer server(201, OneShotServer::Mode::kSilent);
  HttpUploadRequest request = Put(server.Url("/x"), "log");
  request.timeout = 1s;
  const auto start = std::chrono::steady_clock::now();
  HttpUploadResult result = Upload(request);
  EXPECT_EQ(result.status, 0);
  EXPECT_FALSE(result.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(HttpUploadTest, HttpsWithoutATlsContextFailsAtOnce) {
  HttpUploadResult result = Upload(Put("https://127.0.0.1:1/x", "log"));
  EXPECT_EQ(result.status, 0);
  EXPECT_NE(result.error.find("https"), std::string::npos) << result.error;
}

TEST(HttpUploadTest, CancelEndsTheRequest) {
  OneShotServer server(201, OneShotServer::Mode::kSilent);
  net::io_context io;
  std::optional<HttpUploadResult> result;
  auto upload = StartHttpUpload(io, nullptr, Put(server.Url("/x"), "log"),
                                [&](HttpUploadResult r) { result = std::move(r); });
  io.run_for(200ms);
  EXPECT_FALSE(result);
  upload->Cancel();
  io.run_for(2s);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 0);
  EXPECT_EQ(result->error, "canceled");
}

}  // namespace
}  // namespace csms::sim
